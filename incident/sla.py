"""The SLA clocks of an incident: due times, measured durations, breaches and their
withdrawal, as the rule file's priorities define them; the durable metrics they feed."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy.orm import Session

from core.counters import (
    CounterKey,
    HistogramSeries,
    add_to_counters,
    counter_key,
    histogram_observation,
)
from incident.clocks import (
    Breach,
    BreachKind,
    SlaTimes,
    due_times,
    new_breaches,
    withdrawn_breaches,
)
from incident.models import Incident
from incident.notices import level_contacts, notify
from incident.store import SYSTEM
from incident.timeline import NewEvent, add_events
from rules.policy import RuleFile

__all__ = [
    "RESOLUTION_TIMES",
    "RESPONSE_TIMES",
    "SLA_BREACHES",
    "SLA_BREACHES_WITHDRAWN",
    "apply_due_times",
    "measure_clocks",
    "record_breaches",
    "sla_times",
    "withdraw_breaches",
]

SLA_BREACHES = "slakeeper_sla_breaches_total"

SLA_BREACHES_WITHDRAWN = "slakeeper_sla_breaches_withdrawn_total"

# Seconds on the priority's calendar, from a minute to a week: the default targets run from
# 1 h (P1 response) to 5 business days (P4 resolution).
_MINUTES = (1, 5, 15, 30, 60, 120, 240, 480, 960, 1440, 2880, 4320, 7200, 10080)

_CLOCK_BUCKETS = tuple(60.0 * minutes for minutes in _MINUTES)

RESPONSE_TIMES = HistogramSeries("slakeeper_incident_response_seconds", _CLOCK_BUCKETS)

RESOLUTION_TIMES = HistogramSeries("slakeeper_incident_resolution_seconds", _CLOCK_BUCKETS)


def apply_due_times(incident: Incident, rules: RuleFile) -> None:
    """Set the response and resolution due times from the incident's priority."""
    policy = rules.priorities.get(incident.priority)
    if policy is None:  # a priority the rule file no longer has: keep what was set
        return
    incident.response_due_at, incident.resolution_due_at = due_times(
        policy, opened_at=incident.opened_at, acknowledged_at=incident.acknowledged_at
    )


def sla_times(incident: Incident) -> SlaTimes:
    return SlaTimes(
        opened_at=incident.opened_at,
        acknowledged_at=incident.acknowledged_at,
        resolved_at=incident.resolved_at,
        response_due_at=incident.response_due_at,
        resolution_due_at=incident.resolution_due_at,
        response_breached=incident.response_breached,
        resolution_breached=incident.resolution_breached,
    )


def record_breaches(
    session: Session, incident: Incident, *, rules: RuleFile, now: datetime
) -> list[Breach]:
    """Record the breaches that happened by `now` and were not recorded yet, and notify."""
    breaches = new_breaches(sla_times(incident), now)
    if not breaches:
        return []
    counts: Counter[CounterKey] = Counter()
    events = []
    for breach in breaches:
        setattr(incident, f"{breach.kind.value}_breached", True)
        counts[_breach_key(SLA_BREACHES, incident, breach)] += 1
        events.append(
            NewEvent(
                incident.id,
                breach.at,
                SYSTEM,
                "breach",
                before={f"{breach.kind.value}_breached": False},
                after={f"{breach.kind.value}_breached": True},
                note=f"{breach.kind.value} target missed at {breach.at.isoformat()}",
            )
        )
        notify(
            session,
            incident,
            contacts=level_contacts(rules, incident.level),
            reason="breach",
            key=f"breach/{breach.kind.value}",
            now=now,
            details={"kind": breach.kind.value, "due_at": breach.at},
        )
    add_events(session, events)
    add_to_counters(session, counts)
    return breaches


def _breach_key(metric: str, incident: Incident, breach: Breach) -> CounterKey:
    return counter_key(
        metric, service=incident.service, priority=incident.priority, kind=breach.kind.value
    )


def withdraw_breaches(session: Session, incident: Incident, *, now: datetime) -> list[Breach]:
    """Withdraw the recorded breaches the incident's times now contradict, saying why.

    The notification sent for the breach stays sent (people were told what was true then);
    the timeline says it was withdrawn, and `slakeeper_sla_breaches_withdrawn_total` counts
    it (a Prometheus counter never goes down: breaches that stand are the difference).
    """
    times = sla_times(incident)
    withdrawn = withdrawn_breaches(times)
    counts: Counter[CounterKey] = Counter()
    events = []
    for breach in withdrawn:
        field_name = f"{breach.kind.value}_breached"
        setattr(incident, field_name, False)
        done = times.resolved_at if breach.kind is BreachKind.RESOLUTION else times.responded_at
        assert done is not None
        counts[_breach_key(SLA_BREACHES_WITHDRAWN, incident, breach)] += 1
        events.append(
            NewEvent(
                incident.id,
                now,
                SYSTEM,
                "breach_withdrawn",
                before={field_name: True},
                after={field_name: False},
                note=(
                    f"{breach.kind.value} target due at {breach.at.isoformat()} was met: "
                    f"done at {done.isoformat()}, as learnt at {now.isoformat()} (a late "
                    "resolved notification); the breach notification already sent stands"
                ),
            )
        )
    add_events(session, events)
    add_to_counters(session, counts)
    return withdrawn


def measure_clocks(
    session: Session, incident: Incident, rules: RuleFile, *, keep_response: bool = False
) -> None:
    """Response and resolution durations, counted on the priority's calendar.

    The first measurement of each (of each resolution, after a reopen) is observed in the
    durable histograms under the priority it had then; a reclassification measures again
    but observes nothing. `keep_response`: a response already measured stays as it is.
    """
    observed = (incident.response_seconds, incident.resolution_seconds)
    _measure(incident, rules)
    if keep_response and observed[0] is not None:
        incident.response_seconds = observed[0]
    increments: Counter[CounterKey] = Counter()
    for series, before, after in (
        (RESPONSE_TIMES, observed[0], incident.response_seconds),
        (RESOLUTION_TIMES, observed[1], incident.resolution_seconds),
    ):
        if before is None and after is not None:
            increments.update(histogram_observation(series, after, priority=incident.priority))
    add_to_counters(session, increments)


def _measure(incident: Incident, rules: RuleFile) -> None:
    policy = rules.priorities.get(incident.priority)
    times = sla_times(incident)
    responded = times.responded_at
    if policy is None:
        return
    if responded is not None:
        incident.response_seconds = policy.respond.elapsed(
            incident.opened_at, max(responded, incident.opened_at)
        ).total_seconds()
    if incident.resolved_at is not None:
        start = incident.opened_at
        if policy.resolution_from == "acknowledged" and incident.acknowledged_at is not None:
            start = incident.acknowledged_at
        incident.resolution_seconds = policy.resolve.elapsed(
            start, max(incident.resolved_at, start)
        ).total_seconds()
