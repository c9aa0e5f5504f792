"""What people do to incidents: report one, acknowledge, resolve, close, reopen, annotate,
reclassify. Each is one function of (session, ..., now); each change is a timeline event.

Raises `IncidentNotFound`, `InvalidTransition` (a state the action does not apply to),
`GroupAlreadyActive` and `InvalidChange`; the API maps them to 404, 409, 409 and 422.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from incident.changes import apply_change, current, reopen_incident, resolve_incident
from incident.lifecycle import State
from incident.models import Incident
from incident.notices import notify_followers
from incident.opening import NewIncident, open_incident
from incident.sla import apply_due_times, measure_clocks, record_breaches
from incident.store import ACTIVE_STATES, lock_group_keys
from incident.timeline import NewEvent, add_events
from incident.transitions import acknowledged, closed
from rules.policy import RuleFile
from rules.schema import Category, Impact

__all__ = [
    "GroupAlreadyActive",
    "IncidentNotFound",
    "InvalidChange",
    "ManualIncident",
    "Reclassification",
    "acknowledge",
    "add_note",
    "close",
    "open_manual_incident",
    "reclassify",
    "reopen",
    "resolve",
]


class IncidentNotFound(LookupError):
    def __init__(self, incident_id: int) -> None:
        super().__init__(f"no incident {incident_id}")
        self.incident_id = incident_id


class GroupAlreadyActive(ValueError):
    """Reopening would give a group key a second active incident."""

    def __init__(self, group_key: str, active_id: int) -> None:
        super().__init__(
            f"incident {active_id} is already active for group {group_key}; "
            "work on that one instead"
        )
        self.active_id = active_id


class InvalidChange(ValueError):
    """A value the rule file does not know, or a time that cannot be."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class ManualIncident:
    """An incident reported by phone, e-mail or portal."""

    title: str
    service: str
    priority: str
    impact: Impact
    category: Category
    reporter: str
    channel: str
    level: str | None = None
    started_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Reclassification:
    """Fields a person may change; None leaves a field as it is."""

    priority: str | None = None
    category: Category | None = None
    impact: Impact | None = None
    service: str | None = None
    title: str | None = None


def open_manual_incident(
    session: Session,
    *,
    report: ManualIncident,
    actor: str,
    rules: RuleFile,
    now: datetime,
    via: str | None = None,
) -> Incident:
    """Open an incident a person reported; it is resolved by a person too."""
    _known_priority(rules, report.priority)
    level = report.level or rules.spec.defaults.level
    if level not in rules.levels:
        raise InvalidChange("level", f"unknown level {level!r}; known: {sorted(rules.levels)}")
    started_at = report.started_at or now
    if started_at > now:
        raise InvalidChange("started_at", "started_at is in the future")
    return open_incident(
        session,
        NewIncident(
            title=report.title,
            service=report.service,
            priority=report.priority,
            level=level,
            category=report.category.value,
            impact=report.impact.value,
            source="manual",
            started_at=started_at,
            reporter=report.reporter,
            channel=report.channel,
        ),
        rules=rules,
        actor=actor,
        now=now,
        via=via,
    )


def acknowledge(
    session: Session,
    *,
    incident_id: int,
    actor: str,
    rules: RuleFile,
    now: datetime,
    note: str | None = None,
    via: str | None = None,
) -> Incident:
    """Someone is working on it: the response clock stops."""
    incident = _locked(session, incident_id)
    change = acknowledged(current(incident), actor=actor, now=now)
    apply_change(session, incident, change, actor=actor, note=note, via=via)
    apply_due_times(incident, rules)  # resolution may be measured from acknowledgement
    measure_clocks(session, incident, rules)
    record_breaches(session, incident, rules=rules, now=now)
    return incident


def resolve(
    session: Session,
    *,
    incident_id: int,
    actor: str,
    rules: RuleFile,
    now: datetime,
    note: str | None = None,
    via: str | None = None,
) -> Incident:
    """The service is restored: the resolution clock stops."""
    incident = _locked(session, incident_id)
    resolve_incident(
        session, incident, at=now, actor=actor, rules=rules, now=now, note=note, via=via
    )
    notify_followers(session, [incident], reason="resolved", now=now)
    return incident


def close(
    session: Session,
    *,
    incident_id: int,
    actor: str,
    confirmed_by: str,
    now: datetime,
    note: str | None = None,
    via: str | None = None,
) -> Incident:
    """The resolution is confirmed (by `confirmed_by`): the incident is done."""
    incident = _locked(session, incident_id)
    change = closed(current(incident), confirmed_by=confirmed_by, now=now)
    apply_change(session, incident, change, actor=actor, note=note, via=via)
    notify_followers(session, [incident], reason="closed", now=now)
    return incident


def reopen(
    session: Session,
    *,
    incident_id: int,
    actor: str,
    rules: RuleFile,
    now: datetime,
    note: str | None = None,
    via: str | None = None,
) -> Incident:
    """The problem is back: open again (not a flap; a person decided)."""
    incident = _locked(session, incident_id)
    if incident.group_key is not None and State(incident.state) in (
        State.RESOLVED,
        State.CLOSED,
    ):
        lock_group_keys(session, [incident.group_key])
        active = session.scalar(
            select(Incident.id)
            .where(Incident.group_key == incident.group_key)
            .where(Incident.state.in_(ACTIVE_STATES))
        )
        if active is not None:
            raise GroupAlreadyActive(incident.group_key, active)
    reopen_incident(session, incident, actor=actor, now=now, flap=False, note=note, via=via)
    record_breaches(session, incident, rules=rules, now=now)
    return incident


def add_note(
    session: Session,
    *,
    incident_id: int,
    actor: str,
    note: str,
    now: datetime,
    via: str | None = None,
) -> None:
    """Add a note to the timeline."""
    incident = _locked(session, incident_id)
    incident.updated_at = now
    _event(session, incident, actor, now, "note", None, None, note, via)


def reclassify(
    session: Session,
    *,
    incident_id: int,
    change: Reclassification,
    actor: str,
    rules: RuleFile,
    now: datetime,
    note: str | None = None,
    via: str | None = None,
) -> Incident:
    """Correct priority, category, impact, service or title; audited, clocks follow priority."""
    if change.priority is not None:
        _known_priority(rules, change.priority)
    incident = _locked(session, incident_id)
    wanted: dict[str, Any] = {
        "priority": change.priority,
        "category": change.category.value if change.category else None,
        "impact": change.impact.value if change.impact else None,
        "service": change.service,
        "title": change.title,
    }
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for name, value in wanted.items():
        if value is not None and getattr(incident, name) != value:
            before[name] = getattr(incident, name)
            after[name] = value
            setattr(incident, name, value)
    if not after:
        return incident
    incident.updated_at = now
    if "priority" in after:
        # The new priority's targets, from the same opening; a breach already recorded stays.
        apply_due_times(incident, rules)
        measure_clocks(session, incident, rules)
    _event(session, incident, actor, now, "reclassified", before, after, note, via)
    if State(incident.state).is_active:
        record_breaches(session, incident, rules=rules, now=now)
    return incident


def _known_priority(rules: RuleFile, priority: str) -> None:
    if priority not in rules.priorities:
        raise InvalidChange(
            "priority", f"unknown priority {priority!r}; known: {list(rules.priorities)}"
        )


def _locked(session: Session, incident_id: int) -> Incident:
    """The incident, locked for this transaction (SQLite's writer lock already is one)."""
    incident = session.scalar(select(Incident).where(Incident.id == incident_id).with_for_update())
    if incident is None:
        raise IncidentNotFound(incident_id)
    return incident


def _event(
    session: Session,
    incident: Incident,
    actor: str,
    now: datetime,
    kind: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    note: str | None,
    via: str | None = None,
) -> None:
    add_events(session, [NewEvent(incident.id, now, actor, kind, before, after, note, via)])
