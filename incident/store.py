"""SQL and bookkeeping every change to an incident shares: open, resolve, raise, clocks,
breaches, timeline events and notifications.

Callers hold the transaction; nothing here commits. `now` is always passed in.
"""

from __future__ import annotations

import typing
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, case, func, select, text
from sqlalchemy.orm import Session

from collector.alerts import AlertStatus
from collector.models import AlertInstance
from core.counters import (
    CounterKey,
    HistogramSeries,
    add_to_counters,
    counter_key,
    histogram_observation,
)
from core.database import insert_many
from core.wire import rfc3339
from incident.clocks import (
    Breach,
    BreachKind,
    SlaTimes,
    due_times,
    new_breaches,
    withdrawn_breaches,
)
from incident.lifecycle import Action, State, transition
from incident.models import Incident, IncidentEvent
from incident.outbox import QueuedNotification, enqueue_notifications
from rules.policy import RuleFile

__all__ = [
    "ACTIVE_STATES",
    "INCIDENTS_OPENED",
    "RESOLUTION_TIMES",
    "RESPONSE_TIMES",
    "SLA_BREACHES",
    "SLA_BREACHES_WITHDRAWN",
    "SYSTEM",
    "NewEvent",
    "NewIncident",
    "add_events",
    "apply_due_times",
    "count_alerts",
    "count_firing_alerts",
    "incident_fields",
    "level_contacts",
    "lock_group_keys",
    "measure_clocks",
    "Notice",
    "notify",
    "notify_many",
    "open_incident",
    "open_incidents",
    "record_breaches",
    "withdraw_breaches",
    "reopen_incident",
    "resolve_incident",
    "sla_times",
]

SYSTEM = "slakeeper"  # the actor of every automatic change
_INCIDENTS = typing.cast(Table, Incident.__table__)
_EVENTS = typing.cast(Table, IncidentEvent.__table__)
INCIDENTS_OPENED = "slakeeper_incidents_opened_total"
SLA_BREACHES = "slakeeper_sla_breaches_total"
SLA_BREACHES_WITHDRAWN = "slakeeper_sla_breaches_withdrawn_total"
ACTIVE_STATES = (State.OPEN.value, State.ACKNOWLEDGED.value)
# Seconds on the priority's calendar, from a minute to a week: the default targets run from
# 1 h (P1 response) to 5 business days (P4 resolution).
_MINUTES = (1, 5, 15, 30, 60, 120, 240, 480, 960, 1440, 2880, 4320, 7200, 10080)
_CLOCK_BUCKETS = tuple(60.0 * minutes for minutes in _MINUTES)
RESPONSE_TIMES = HistogramSeries("slakeeper_incident_response_seconds", _CLOCK_BUCKETS)
RESOLUTION_TIMES = HistogramSeries("slakeeper_incident_resolution_seconds", _CLOCK_BUCKETS)


@dataclass(frozen=True, slots=True)
class NewEvent:
    """A timeline entry to write."""

    incident_id: int
    at: datetime
    actor: str
    kind: str
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    note: str | None = None


def add_events(session: Session, events: Sequence[NewEvent]) -> None:
    """Write timeline entries in one statement."""
    if not events:
        return
    insert_many(
        session,
        _EVENTS,
        [
            {
                "incident_id": event.incident_id,
                "at": event.at,
                "actor": event.actor,
                "kind": event.kind,
                "before": _json(event.before),
                "after": _json(event.after),
                "note": event.note,
            }
            for event in events
        ],
    )


def _json(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {key: _jsonable(value) for key, value in values.items()}


def _jsonable(value: Any) -> Any:
    return rfc3339(value) if isinstance(value, datetime) else value


def lock_group_keys(session: Session, keys: Iterable[str]) -> None:
    """Make this transaction the only one deciding for `keys` until it ends.

    On PostgreSQL a transaction-scoped advisory lock per key, taken in key order so two
    transactions never wait on each other in a cycle. SQLite has one writer at a time.
    """
    wanted = sorted(set(keys))
    if not wanted or session.get_bind().dialect.name != "postgresql":
        return
    session.execute(
        text(
            "SELECT pg_advisory_xact_lock(hashtextextended(key, 0))"
            " FROM unnest(CAST(:keys AS text[])) AS key"
        ),
        {"keys": wanted},
    )


def incident_fields(incident: Incident, *, alert_count: int) -> dict[str, Any]:
    """The incident as the API and notifications show it (DESIGN §4), JSON-ready."""
    return _fields({name: getattr(incident, name) for name in _FIELD_NAMES}, alert_count)


_FIELD_NAMES = tuple(column.key for column in _INCIDENTS.columns if column.key != "updated_at")


def _fields(incident: Mapping[str, Any], alert_count: int) -> dict[str, Any]:
    """`incident_fields` of a row: every column of `incidents` but `updated_at`."""
    return {
        "id": incident["id"],
        "title": incident["title"],
        "service": incident["service"],
        "priority": incident["priority"],
        "level": incident["level"],
        "category": incident["category"],
        "impact": incident["impact"],
        "state": incident["state"],
        "source": incident["source"],
        "group_key": incident["group_key"],
        "started_at": _jsonable(incident["started_at"]),
        "opened_at": _jsonable(incident["opened_at"]),
        "acknowledged_at": _jsonable(incident["acknowledged_at"]),
        "acknowledged_by": incident["acknowledged_by"],
        "resolved_at": _jsonable(incident["resolved_at"]),
        "resolved_by": incident["resolved_by"],
        "closed_at": _jsonable(incident["closed_at"]),
        "closed_by": incident["closed_by"],
        "reporter": incident["reporter"],
        "channel": incident["channel"],
        "response_due_at": _jsonable(incident["response_due_at"]),
        "resolution_due_at": _jsonable(incident["resolution_due_at"]),
        "response_breached": incident["response_breached"],
        "resolution_breached": incident["resolution_breached"],
        "response_seconds": incident["response_seconds"],
        "resolution_seconds": incident["resolution_seconds"],
        "alert_count": alert_count,
        "flap_count": incident["flap_count"],
    }


@dataclass(frozen=True, slots=True)
class Notice:
    """Messages about one incident: one per contact, queued once per `key`.

    `incident` is the incident as `incident_fields` shows it, its alert count included.
    """

    incident: Mapping[str, Any]
    contacts: Iterable[str]
    reason: str
    key: str
    details: Mapping[str, Any] | None = None


def notify(
    session: Session,
    incident: Incident,
    *,
    contacts: Iterable[str],
    reason: str,
    key: str,
    now: datetime,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Queue one message per contact; the same `key` for the same incident is queued once."""
    alert_count = count_alerts(session, [incident.id]).get(incident.id, 0)
    fields = incident_fields(incident, alert_count=alert_count)
    notify_many(session, [Notice(fields, contacts, reason, key, details)], now=now)


def notify_many(session: Session, notices: Sequence[Notice], *, now: datetime) -> None:
    """`notify` for many incidents in one statement."""
    messages: list[QueuedNotification] = []
    for notice in notices:
        incident_id = notice.incident["id"]
        payload = {
            "reason": notice.reason,
            "incident": notice.incident,
            **({"details": _json(notice.details)} if notice.details else {}),
        }
        messages.extend(
            QueuedNotification(
                dedupe_key=f"incident/{incident_id}/{notice.key}/{contact}",
                incident_id=incident_id,
                contact=contact,
                reason=notice.reason,
                payload={**payload, "contact": contact},
            )
            for contact in dict.fromkeys(notice.contacts)
        )
    enqueue_notifications(session, messages, now=now)


def level_contacts(rules: RuleFile, level: str | None) -> tuple[str, ...]:
    """Who hears of an incident at `level`: the level's `notify` list."""
    found = rules.levels.get(level) if level is not None else None
    return found.notify if found is not None else ()


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


@dataclass(frozen=True, slots=True)
class NewIncident:
    """What opening an incident needs to know."""

    title: str
    service: str
    priority: str
    level: str | None
    category: str
    impact: str
    source: str
    started_at: datetime
    group_key: str | None = None
    reporter: str | None = None
    channel: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


_OPENED_FIELDS = (
    "title",
    "service",
    "priority",
    "level",
    "category",
    "impact",
    "started_at",
    "reporter",
    "channel",
)


def open_incident(
    session: Session, new: NewIncident, *, rules: RuleFile, actor: str, now: datetime
) -> Incident:
    """Open an incident at `now`, start its clocks, and notify the contacts of its level."""
    [incident_id] = open_incidents(session, [new], rules=rules, actor=actor, now=now)
    incident = session.get(Incident, incident_id)
    assert incident is not None, "the incident was inserted by this transaction"
    return incident


def open_incidents(
    session: Session, news: Sequence[NewIncident], *, rules: RuleFile, actor: str, now: datetime
) -> list[int]:
    """`open_incident` for many at once, in a fixed number of statements however many; the
    new incidents' ids, in the order of `news`.

    Rows, not ORM objects: a push of thousands of new groups used to open them one by one,
    five round trips each, holding the writer for tens of seconds, and then spent most of
    its time in the ORM's bookkeeping for objects nobody reads in this transaction.
    """
    if not news:
        return []
    due: dict[str, tuple[datetime | None, datetime | None]] = {}
    for priority in {new.priority for new in news}:
        policy = rules.priorities.get(priority)
        # All open at `now`: one computation per priority, not per incident.
        due[priority] = (
            due_times(policy, opened_at=now, acknowledged_at=None)
            if policy is not None
            else (None, None)
        )
    rows = [_new_row(new, due[new.priority], now) for new in news]
    ids = insert_many(session, _INCIDENTS, rows, return_ids=True)
    opened_rows = [{"id": incident_id, **row} for incident_id, row in zip(ids, rows, strict=True)]
    add_events(
        session,
        [
            NewEvent(
                row["id"],
                now,
                actor,
                "opened",
                after={name: _jsonable(row[name]) for name in _OPENED_FIELDS},
            )
            for row in opened_rows
        ],
    )
    # Nothing is attached yet to an incident just opened: its alerts join it after.
    notify_many(
        session,
        [
            Notice(
                _fields(row, 0),
                contacts=level_contacts(rules, row["level"]),
                reason="opened",
                key="opened",
                details=new.details,
            )
            for row, new in zip(opened_rows, news, strict=True)
        ],
        now=now,
    )
    opened: Counter[CounterKey] = Counter(
        counter_key(INCIDENTS_OPENED, service=new.service, priority=new.priority) for new in news
    )
    add_to_counters(session, opened)
    return ids


def _new_row(
    new: NewIncident, due: tuple[datetime | None, datetime | None], now: datetime
) -> dict[str, Any]:
    """The `incidents` row of an incident opened at `now`, every column but its id."""
    response_due_at, resolution_due_at = due
    return {
        "title": new.title,
        "service": new.service,
        "priority": new.priority,
        "level": new.level,
        "category": new.category,
        "impact": new.impact,
        "state": State.OPEN.value,
        "source": new.source,
        "group_key": new.group_key,
        "started_at": new.started_at,
        "opened_at": now,
        "acknowledged_at": None,
        "resolved_at": None,
        "closed_at": None,
        "acknowledged_by": None,
        "resolved_by": None,
        "closed_by": None,
        "reporter": new.reporter,
        "channel": new.channel,
        "response_due_at": response_due_at,
        "resolution_due_at": resolution_due_at,
        "response_breached": False,
        "resolution_breached": False,
        "response_seconds": None,
        "resolution_seconds": None,
        "flap_count": 0,
        "updated_at": now,
    }


def resolve_incident(
    session: Session,
    incident: Incident,
    *,
    at: datetime,
    actor: str,
    rules: RuleFile,
    now: datetime,
    note: str | None = None,
) -> None:
    """Resolve an active incident as of `at`, measure its clocks and record any breach."""
    before = State(incident.state)
    incident.state = transition(before, Action.RESOLVE).value
    incident.resolved_at = at
    incident.resolved_by = actor
    incident.updated_at = now
    # A response measured when it happened (an acknowledgement) stays as measured, whatever
    # time the resolution is dated: a late resolved notification may date it earlier.
    measure_clocks(session, incident, rules, keep_response=True)
    add_events(
        session,
        [
            NewEvent(
                incident.id,
                now,
                actor,
                "resolved",
                before={"state": before.value},
                after={"state": incident.state, "resolved_at": at},
                note=note,
            )
        ],
    )
    withdraw_breaches(session, incident, now=now)
    record_breaches(session, incident, rules=rules, now=now)


def reopen_incident(
    session: Session,
    incident: Incident,
    *,
    actor: str,
    now: datetime,
    flap: bool,
    note: str | None = None,
) -> None:
    """Make a resolved (or closed) incident open again; a flap is counted."""
    before = State(incident.state)
    incident.state = transition(before, Action.REOPEN).value
    previous = {"state": before.value, "resolved_at": incident.resolved_at}
    incident.resolved_at = None
    incident.resolved_by = None
    incident.closed_at = None
    incident.closed_by = None
    incident.resolution_seconds = None
    if flap:
        incident.flap_count += 1
    incident.updated_at = now
    add_events(
        session,
        [
            NewEvent(
                incident.id,
                now,
                actor,
                "reopened",
                before=previous,
                after={"state": incident.state, "flap_count": incident.flap_count},
                note=note,
            )
        ],
    )


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


def count_alerts(session: Session, incident_ids: Iterable[int]) -> dict[int, int]:
    """How many alert instances each incident has (0 for none), in one query."""
    wanted = sorted(set(incident_ids))
    counts = dict.fromkeys(wanted, 0)
    if wanted:
        rows = session.execute(
            select(AlertInstance.incident_id, func.count())
            .where(AlertInstance.incident_id.in_(wanted))
            .group_by(AlertInstance.incident_id)
        )
        counts.update((incident_id, count) for incident_id, count in rows if incident_id)
    return counts


def count_firing_alerts(
    session: Session, incident_ids: Iterable[int]
) -> dict[int, tuple[int, datetime | None]]:
    """For each incident: how many of its alerts still fire, and the latest end of the rest."""
    wanted = sorted(set(incident_ids))
    if not wanted:
        return {}
    firing = func.sum(case((AlertInstance.status == AlertStatus.FIRING.value, 1), else_=0))
    rows = session.execute(
        select(AlertInstance.incident_id, firing, func.max(AlertInstance.ends_at))
        .where(AlertInstance.incident_id.in_(wanted))
        .group_by(AlertInstance.incident_id)
    )
    return {incident_id: (int(count or 0), ends) for incident_id, count, ends in rows}
