"""`/metrics`: the durable counters and histograms of every domain, read from the database
at scrape time, identical on every replica."""

from __future__ import annotations

import collector.metrics
import housekeeping.metrics
import incident.metrics
import ledger.metrics
import oncall.metrics
from core.counter_metrics import (
    CounterDefinition,
    DatabaseCounterCollector,
    HistogramDefinition,
    StoredCounters,
)
from slakeeper.job_metrics import JOB_FAILURES, JOB_RUNS

__all__ = ["COUNTERS", "HISTOGRAMS", "DatabaseCounterCollector", "StoredCounters"]

COUNTERS: tuple[CounterDefinition, ...] = (
    *collector.metrics.COUNTERS,
    *incident.metrics.COUNTERS,
    *oncall.metrics.COUNTERS,
    *ledger.metrics.COUNTERS,
    *housekeeping.metrics.COUNTERS,
    CounterDefinition(
        JOB_FAILURES,
        "Scheduled job runs that raised (escalation and breaches, sender, reconciliation).",
        ("job",),
    ),
    CounterDefinition(
        JOB_RUNS,
        "Scheduled job runs, on whichever replica leads: one per interval across the replicas.",
        ("job",),
    ),
)
HISTOGRAMS: tuple[HistogramDefinition, ...] = incident.metrics.HISTOGRAMS
