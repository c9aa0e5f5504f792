"""Durable counters as Prometheus metrics: definitions, and the collector that reads them.

Each domain defines the counters and histograms it keeps (its `metrics.py`); the shell
registers one `DatabaseCounterCollector` with all of them. Values are read from the
database at scrape time, so every replica shows the same.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from core.counters import HistogramSeries

__all__ = [
    "CounterDefinition",
    "DatabaseCounterCollector",
    "HistogramDefinition",
    "StoredCounters",
]

StoredCounters = Mapping[str, Sequence[tuple[Mapping[str, str], float]]]


@dataclass(frozen=True, slots=True)
class CounterDefinition:
    """A counter slakeeper exports, with the label sets it always shows (from zero)."""

    name: str
    documentation: str
    labels: tuple[str, ...]
    initial: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class HistogramDefinition:
    """A histogram kept in durable counters (`core.counters.HistogramSeries`)."""

    series: HistogramSeries
    documentation: str
    labels: tuple[str, ...]
    initial: tuple[tuple[str, ...], ...] = ()


class DatabaseCounterCollector(Collector):
    """Exports the durable counters and histograms; `read` is only called at scrape time."""

    def __init__(
        self,
        read: Callable[[], StoredCounters],
        definitions: Iterable[CounterDefinition],
        histograms: Iterable[HistogramDefinition],
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
