"""The service-level metrics that come from the database: availability,
targets, error budget, downtime, unknown time, service credits, up/down and open incidents.

States, downtime counters and open incidents are computed at scrape time and kept for
`cache_seconds`, so that Prometheus servers scraping often (or several of them) cost one
computation. Availability and budget over the month and 30 days read a month of windows:
they are recomputed in the background once older than `refresh_seconds` (0: at every
computation), and a scrape shows the latest. `describe()` runs no query.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Generic, TypeVar

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from availability.figures import MICROS_PER_SECOND
from availability.live import CurrentState
from availability.silences import SilenceState
from availability.snapshot import LiveFigures, PeriodFigures

__all__ = ["MAINTENANCE_SILENCES", "Refreshed", "SilenceStatesCollector", "SlaCollector"]

T = TypeVar("T")

_AVAILABILITY = (
    "slakeeper_service_availability_ratio",
    "Availability (maintenance excluded, degraded time weighted) over the window: "
    "month is the calendar month to date in the service's time zone, 30d the last 30 days.",
)
_TARGET = ("slakeeper_service_availability_target_ratio", "The service's availability target.")
_BUDGET = (
    "slakeeper_service_error_budget_remaining_ratio",
    "Share of the window's error budget left: 1 untouched, 0 spent, negative overspent.",
)
_DOWNTIME = (
    "slakeeper_service_downtime_seconds",
    "Downtime outside maintenance, counted as it happens; rate() is the share of time down. "
    "Never decreases: a later correction holds it still until downtime catches up.",
)
_UNKNOWN = (
    "slakeeper_service_unknown_seconds",
    "Blind time (heartbeat gaps, alerts lost upstream, slakeeper's own downtime) that is "
    "neither maintenance, downtime nor degraded time; counted as the service's unknown policy "
    "says in its availability. Never decreases.",
)
_CREDIT = (
    "slakeeper_service_credit_ratio",
    "Share of the monthly fee credited for the availability of the calendar month to date, "
    "in the service's time zone (its credit tiers in the rule file; 0 without).",
)
_UP = ("slakeeper_service_up", "1 unless the service has an outage now (outside maintenance).")
_OPEN = (
    "slakeeper_incidents_open",
    "Active incidents: state open (not acknowledged yet) or acknowledged.",
)


_Families = tuple[
    GaugeMetricFamily,
    GaugeMetricFamily,
    GaugeMetricFamily,
    CounterMetricFamily,
    GaugeMetricFamily,
    GaugeMetricFamily,
    CounterMetricFamily,
    GaugeMetricFamily,
]


def _families() -> _Families:
    return (
        GaugeMetricFamily(*_AVAILABILITY, labels=["service", "window"]),
        GaugeMetricFamily(*_TARGET, labels=["service"]),
        GaugeMetricFamily(*_BUDGET, labels=["service", "window"]),
        CounterMetricFamily(*_DOWNTIME, labels=["service"]),
        GaugeMetricFamily(*_UP, labels=["service"]),
        GaugeMetricFamily(*_OPEN, labels=["service", "priority", "state"]),
        CounterMetricFamily(*_UNKNOWN, labels=["service"]),
        GaugeMetricFamily(*_CREDIT, labels=["service"]),
    )


class Refreshed(Generic[T]):
    """The latest result of `compute`: computed when first asked for, then again in a
    background thread once older than `max_age` seconds, the older result served meanwhile.

    A result older than `TOO_OLD` times `max_age` (background computations keep failing,
    say) is not served: it is computed again in the caller, whose error then shows (a
    scrape answers 503). With `max_age` 0, computed at every call.
    """

    TOO_OLD = 3

    def __init__(
        self,
        compute: Callable[[], T],
        *,
        max_age: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_age < 0:
            raise ValueError(f"max_age must not be negative, got {max_age}")
        self._compute = compute
        self._max_age = max_age
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._latest: tuple[float, T] | None = None
        self._worker: threading.Thread | None = None

    def get(self) -> T:
        with self._lock:
            latest = self._latest
            age = math.inf if latest is None else self._monotonic() - latest[0]
            if latest is None or age >= self._max_age * self.TOO_OLD:
                started = self._monotonic()
                value = self._compute()
                self._keep(started, value)
                return value
            if age >= self._max_age and self._worker is None:
                self._worker = threading.Thread(
                    target=self._refresh, name="slakeeper-figures", daemon=True
                )
                self._worker.start()
            return latest[1]

    def _keep(self, started: float, value: T) -> None:
        # The newest computation wins, whichever finishes last.
        if self._latest is None or started >= self._latest[0]:
            self._latest = (started, value)

    def _refresh(self) -> None:
        # An error ends this thread (threading's hook prints it); the next call past
        # `max_age` starts another, and past TOO_OLD the caller computes and sees it.
        try:
            started = self._monotonic()
            value = self._compute()
            with self._lock:
                self._keep(started, value)
        finally:
            with self._lock:
                self._worker = None

    def close(self) -> None:
        """Wait for a background computation to end."""
        with self._lock:
            worker = self._worker
        if worker is not None:
            worker.join()


class SlaCollector(Collector):
    """Exports `live()` (computed at most once per `cache_seconds`) and `periods()`."""

    def __init__(
        self,
        live: Callable[[], LiveFigures],
        periods: Callable[[], PeriodFigures],
        *,
        cache_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if cache_seconds < 0:
            raise ValueError(f"cache_seconds must not be negative, got {cache_seconds}")
        self._live = live
        self._periods = periods
        self._cache_seconds = cache_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Metric]] | None = None

    def describe(self) -> Iterable[Metric]:
        return _families()

    def collect(self) -> Iterable[Metric]:
        # One computation at a time: concurrent scrapes wait for it and share the result.
        with self._lock:
            now = self._monotonic()
            if self._cached is None or now >= self._cached[0]:
                built = self._build(self._live(), self._periods())
                self._cached = (now + self._cache_seconds, built)
            return self._cached[1]

    def _build(self, live: LiveFigures, periods: PeriodFigures) -> list[Metric]:
        availability, target, budget, downtime, up, open_incidents, unknown, credit = _families()
        for i, service in enumerate(periods.services):
            for window, of_window in (("month", periods.month), ("30d", periods.rolling)):
                availability.add_metric([service, window], float(of_window.availability_ratio[i]))
                budget.add_metric([service, window], float(of_window.budget_remaining_ratio[i]))
            target.add_metric([service], float(periods.targets[i]))
            if periods.credit_ratio is not None:
                credit.add_metric([service], float(periods.credit_ratio[i]))
        for i, service in enumerate(live.services):
            downtime.add_metric([service], int(live.downtime_us[i]) / MICROS_PER_SECOND)
            up.add_metric([service], 0.0 if live.states[i] is CurrentState.DOWN else 1.0)
            if live.unknown_us is not None:
                unknown.add_metric([service], int(live.unknown_us[i]) / MICROS_PER_SECOND)
        # Only the service, priority and state combinations with active incidents: the full
        # product is 8 series per service, most of them 0 (panels use `or vector(0)`).
        rows = live.open_incidents.itertuples(index=False, name=None)
        for service, priority, state, count in sorted(rows):
            open_incidents.add_metric([service, priority, state], float(count))
        return [availability, target, budget, downtime, up, open_incidents, unknown, credit]


MAINTENANCE_SILENCES = "slakeeper_maintenance_silences"


class SilenceStatesCollector(Collector):
    """`slakeeper_maintenance_silences{state}`: the Alertmanager silences of maintenance
    occurrences not ended yet, by state, every state shown (from 0); `read()` is called at
    scrape time only."""

    def __init__(self, read: Callable[[], Mapping[SilenceState, int]]) -> None:
        self._read = read

    def describe(self) -> Iterable[Metric]:
        return [self._family()]

    def collect(self) -> Iterable[Metric]:
        family = self._family()
        counts = self._read()
        for state in SilenceState:
            family.add_metric([state.value], float(counts.get(state, 0)))
        return [family]

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            MAINTENANCE_SILENCES,
            "Alertmanager silences of maintenance occurrences not ended yet (each gets one a "
            "day ahead), by state; failed ones are retried every minute, and until one "
            "succeeds its planned work pages people.",
            labels=["state"],
        )
