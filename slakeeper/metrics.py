"""`/metrics`: counters and histograms read from the database at scrape time, identical on
every replica."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from collector.counts import ALERTS_RECEIVED, ALERTS_TRUNCATED
from core.counters import HistogramSeries
from incident.jobs import ESCALATIONS
from incident.opening import INCIDENTS_OPENED
from incident.outbox import NOTIFICATIONS_FAILED
from incident.reconcile import RECONCILIATION_REPAIRS
from incident.sla import RESOLUTION_TIMES, RESPONSE_TIMES, SLA_BREACHES, SLA_BREACHES_WITHDRAWN
from slakeeper.scheduler import JOB_FAILURES

__all__ = [
    "COUNTERS",
    "HISTOGRAMS",
    "CounterDefinition",
    "DatabaseCounterCollector",
    "HistogramDefinition",
]

StoredCounters = Mapping[str, Sequence[tuple[Mapping[str, str], float]]]

_SOURCES = ("alertmanager", "prometheus", "grafana")


@dataclass(frozen=True, slots=True)
class CounterDefinition:
    """A counter slakeeper exports, with the label sets it always shows (from zero)."""

    name: str
    documentation: str
    labels: tuple[str, ...]
    initial: tuple[tuple[str, ...], ...] = ()


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
    CounterDefinition(
        INCIDENTS_OPENED,
        "Incidents opened, by alerts or by people, by service and priority at opening.",
        ("service", "priority"),
    ),
    CounterDefinition(
        SLA_BREACHES,
        "Response and resolution targets missed, recorded once per incident and kind.",
        ("service", "priority", "kind"),
    ),
    CounterDefinition(
        SLA_BREACHES_WITHDRAWN,
        "Recorded breaches withdrawn because a late resolved notification dated the "
        "resolution before the due time.",
        ("service", "priority", "kind"),
    ),
    CounterDefinition(
        ESCALATIONS,
        "Escalation steps fired, by the incident's priority and step number (1 is the first).",
        ("priority", "step"),
    ),
    CounterDefinition(
        JOB_FAILURES,
        "Scheduled job runs that raised (escalation and breaches, sender, reconciliation).",
        ("job",),
    ),
    CounterDefinition(
        RECONCILIATION_REPAIRS,
        "Alert instances reconciliation with Alertmanager repaired: missing_firing (a lost "
        "webhook), missing_resolved, lost_resolved (a lost resolved notification).",
        ("kind",),
        (("missing_firing",), ("missing_resolved",), ("lost_resolved",)),
    ),
    CounterDefinition(
        NOTIFICATIONS_FAILED,
        "Notification attempts that failed, by contact; each is retried until it succeeds.",
        ("contact",),
    ),
)


@dataclass(frozen=True, slots=True)
class HistogramDefinition:
    """A histogram kept in durable counters (`core.counters.HistogramSeries`)."""

    series: HistogramSeries
    documentation: str
    labels: tuple[str, ...]
    initial: tuple[tuple[str, ...], ...] = ()


_PRIORITIES = tuple((priority,) for priority in ("P1", "P2", "P3", "P4"))

HISTOGRAMS = (
    HistogramDefinition(
        RESPONSE_TIMES,
        "Time from opening to acknowledgement, on the priority's calendar; each incident "
        "observed once, under its priority when acknowledged.",
        ("priority",),
        _PRIORITIES,
    ),
    HistogramDefinition(
        RESOLUTION_TIMES,
        "Time to resolution (from opening, or acknowledgement where the priority says so), "
        "on the priority's calendar; observed at each resolution.",
        ("priority",),
        _PRIORITIES,
    ),
)


class DatabaseCounterCollector(Collector):
    """Exports the durable counters and histograms; `read` is only called at scrape time."""

    def __init__(
        self,
        read: Callable[[], StoredCounters],
        definitions: Iterable[CounterDefinition] = COUNTERS,
        histograms: Iterable[HistogramDefinition] = HISTOGRAMS,
        *,
        known: Callable[[], Mapping[str, Iterable[tuple[str, ...]]]] = dict,
    ) -> None:
        self._read = read
        self._definitions = tuple(definitions)
        self._histograms = tuple(histograms)
        # Label sets shown from zero besides the definitions' own, e.g. the rule file's
        # contacts: a panel or alert on a contact's failures reads 0, not nothing.
        self._known = known

    def describe(self) -> Iterable[Metric]:
        for definition in self._definitions:
            yield CounterMetricFamily(
                definition.name, definition.documentation, labels=definition.labels
            )
        for histogram in self._histograms:
            yield HistogramMetricFamily(
                histogram.series.name, histogram.documentation, labels=histogram.labels
            )

    def collect(self) -> Iterable[Metric]:
        stored = self._read()
        yield from self._counters(stored)
        for histogram in self._histograms:
            yield _histogram_family(histogram, stored)

    def _counters(self, stored: StoredCounters) -> Iterable[Metric]:
        known = self._known()
        for definition in self._definitions:
            family = CounterMetricFamily(
                definition.name, definition.documentation, labels=definition.labels
            )
            values = dict.fromkeys(definition.initial, 0.0)
            values.update(dict.fromkeys(known.get(definition.name, ()), 0.0))
            for labels, value in stored.get(definition.name, ()):
                key = tuple(labels.get(name, "") for name in definition.labels)
                values[key] = values.get(key, 0.0) + value
            for key, value in sorted(values.items()):
                family.add_metric(list(key), value)
            yield family


def _histogram_family(definition: HistogramDefinition, stored: StoredCounters) -> Metric:
    series = definition.series
    bounds = (*series.buckets, math.inf)

    def key(labels: Mapping[str, str]) -> tuple[str, ...]:
        return tuple(labels.get(name, "") for name in definition.labels)

    per_bucket: dict[tuple[str, ...], list[float]] = {
        labels: [0.0] * len(bounds) for labels in definition.initial
    }
    sums: dict[tuple[str, ...], float] = dict.fromkeys(definition.initial, 0.0)
    for labels, value in stored.get(series.bucket_counter, ()):
        counts = per_bucket.setdefault(key(labels), [0.0] * len(bounds))
        # A bound no longer listed counts in the next one up, so the counts stay cumulative.
        bound = float(labels.get("le", "+Inf"))
        counts[next(i for i, b in enumerate(bounds) if bound <= b)] += value
    for labels, value in stored.get(series.sum_counter, ()):
        sums[key(labels)] = sums.get(key(labels), 0.0) + value
    family = HistogramMetricFamily(series.name, definition.documentation, labels=definition.labels)
    for values in sorted(per_bucket.keys() | sums.keys()):
        counts = per_bucket.get(values, [0.0] * len(bounds))
        cumulative = [sum(counts[: i + 1]) for i in range(len(bounds))]
        buckets = [
            ("+Inf" if math.isinf(bound) else repr(bound), total)
            for bound, total in zip(bounds, cumulative, strict=True)
        ]
        family.add_metric(list(values), buckets, sums.get(values, 0.0))
    return family
