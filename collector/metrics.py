"""What the collector exports at `/metrics`: the ingestion counters."""

from __future__ import annotations

from collector.counts import ALERTS_RECEIVED, ALERTS_TRUNCATED
from core.counter_metrics import CounterDefinition

__all__ = ["COUNTERS"]

_SOURCES = ("alertmanager", "prometheus", "grafana")

COUNTERS = (
    CounterDefinition(
        ALERTS_RECEIVED,
        "Alert observations accepted, by source and status as received.",
        ("source", "status"),
        tuple((source, status) for source in _SOURCES for status in ("firing", "resolved")),
    ),
    CounterDefinition(
        ALERTS_TRUNCATED,
        "Alerts a source reported as cut from its payload (truncatedAlerts): lost upstream.",
        ("source",),
        tuple((source,) for source in _SOURCES),
    ),
)
