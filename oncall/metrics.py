"""What on-call exports at `/metrics`: who is on call in each rotation, and the messages
delivered on each kind of channel."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from core.counter_metrics import CounterDefinition

__all__ = ["COUNTERS", "NOTIFICATIONS_SENT", "ONCALL_PERSON", "OncallCollector"]

ONCALL_PERSON = "slakeeper_oncall_person"
NOTIFICATIONS_SENT = "slakeeper_notifications_sent_total"
CHANNEL_TYPES = ("email", "dingtalk", "wecom", "feishu", "slack", "webhook")

COUNTERS = (
    CounterDefinition(
        NOTIFICATIONS_SENT,
        "Messages delivered, by kind of channel (email, dingtalk, wecom, feishu, slack, "
        "webhook); a message to a contact with two channels counts once on each.",
        ("channel",),
        tuple((channel,) for channel in CHANNEL_TYPES),
    ),
)


def _family() -> GaugeMetricFamily:
    return GaugeMetricFamily(
        ONCALL_PERSON,
        "1 for the person on call in each rotation now (none while nobody is).",
        labels=("rotation", "person"),
    )


class OncallCollector(Collector):
    """Exports `current()` — (rotation, person) pairs — computed at most once per
    `cache_seconds`."""

    def __init__(
        self,
        current: Callable[[], Sequence[tuple[str, str]]],
        *,
        cache_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if cache_seconds < 0:
            raise ValueError(f"cache_seconds must not be negative, got {cache_seconds}")
        self._current = current
        self._cache_seconds = cache_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Metric]] | None = None

    def describe(self) -> Iterable[Metric]:
        return [_family()]

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            now = self._monotonic()
            if self._cached is None or now >= self._cached[0]:
                family = _family()
                for rotation, person in sorted(self._current()):
                    family.add_metric([rotation, person], 1.0)
                self._cached = (now + self._cache_seconds, [family])
            return self._cached[1]
