"""`/metrics`: counters read from the database at scrape time, identical on every replica."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from collector.counts import ALERTS_RECEIVED, ALERTS_TRUNCATED
from incident.jobs import ESCALATIONS
from incident.outbox import NOTIFICATIONS_FAILED
from incident.reconcile import RECONCILIATION_REPAIRS
from incident.store import INCIDENTS_OPENED, SLA_BREACHES
from slakeeper.scheduler import JOB_FAILURES

__all__ = ["COUNTERS", "CounterDefinition", "DatabaseCounterCollector"]

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


class DatabaseCounterCollector(Collector):
    """Exports the durable counters; `read` is only called at scrape time."""

    def __init__(
        self,
        read: Callable[[], StoredCounters],
        definitions: Iterable[CounterDefinition] = COUNTERS,
    ) -> None:
        self._read = read
        self._definitions = tuple(definitions)

    def describe(self) -> Iterable[Metric]:
        for definition in self._definitions:
            yield CounterMetricFamily(
                definition.name, definition.documentation, labels=definition.labels
            )

    def collect(self) -> Iterable[Metric]:
        stored = self._read()
        for definition in self._definitions:
            family = CounterMetricFamily(
                definition.name, definition.documentation, labels=definition.labels
            )
            values = dict.fromkeys(definition.initial, 0.0)
            for labels, value in stored.get(definition.name, ()):
                key = tuple(labels.get(name, "") for name in definition.labels)
                values[key] = values.get(key, 0.0) + value
            for key, value in sorted(values.items()):
                family.add_metric(list(key), value)
            yield family
