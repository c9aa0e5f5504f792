"""What the incident domain exports at `/metrics`: incidents opened, SLA breaches,
escalations, reconciliation repairs, failed notifications, and the SLA clock histograms."""

from __future__ import annotations

from core.counter_metrics import CounterDefinition, HistogramDefinition
from incident.jobs import ESCALATIONS
from incident.opening import INCIDENTS_OPENED
from incident.outbox import NOTIFICATIONS_FAILED
from incident.reconcile import RECONCILIATION_REPAIRS
from incident.sla import RESOLUTION_TIMES, RESPONSE_TIMES, SLA_BREACHES, SLA_BREACHES_WITHDRAWN

__all__ = ["COUNTERS", "HISTOGRAMS"]

COUNTERS = (
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
