"""A person's action on an incident, applied and audited in one transaction.

The API's routes and the console's forms both call these, so that a rule (who may act, which
state allows what, what the audit trail keeps) is written once. Each takes the desk, the
authenticated caller and a validated body, and returns the incident's fields after.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from access.audit import Caller, record
from access.roles import Acting
from core.database import writing_session
from core.errors import ApiError
from incident import service
from incident.auditing import audit_action, snapshot
from incident.models import Incident
from incident.requests import ActionBody, CloseBody, NoteBody, ReclassifyBody, ReportBody
from incident.store import count_alerts, incident_fields
from rules.policy import RuleFile
from rules.reloading import ActiveRules

__all__ = [
    "IncidentDesk",
    "acknowledge",
    "add_note",
    "close",
    "fields_of",
    "reclassify",
    "reopen",
    "report",
    "resolve",
]


@dataclass(frozen=True, slots=True)
class IncidentDesk:
    """What incident reads and actions are bound to: the database, the rules, the clock."""

    engine: Engine
    sessions: sessionmaker[Session]
    rules: ActiveRules
    clock: Callable[[], datetime]


def fields_of(session: Session, incident: Incident) -> dict[str, Any]:
    """The incident's fields with its alert count, read in `session`."""
    [alert_count] = count_alerts(session, [incident.id]).values()
    return incident_fields(incident, alert_count=alert_count)


def _audited(
    desk: IncidentDesk,
    caller: Caller,
    claimed: str | None,
    action: str,
    incident_id: int,
    change: Callable[[Session, Acting, datetime], Incident],
) -> dict[str, Any]:
    """Apply a person's `change` to an incident as `caller.acting(claimed)`, with its audit
    event (the incident's fields before and after) in the same transaction."""
    acting = caller.acting(claimed)
    now = desk.clock()
    with writing_session(desk.engine) as session:
        before = snapshot(session, incident_id)
        incident = change(session, acting, now)
        audit_action(session, caller, acting, action, incident, before, now)
        return fields_of(session, incident)


def report(desk: IncidentDesk, caller: Caller, body: ReportBody) -> dict[str, Any]:
    """Open the incident a person reported (by phone, e-mail, portal or chat)."""
    acting = caller.acting(body.actor)
    now = desk.clock()
    with writing_session(desk.engine) as session:
        incident = service.open_manual_incident(
            session,
            report=service.ManualIncident(
                title=body.title,
                service=body.service,
                priority=body.priority,
                impact=body.impact,
                category=body.category,
                reporter=body.reporter,
                channel=body.channel.value,
                level=body.level,
                started_at=body.started_at,
            ),
            actor=acting.actor,
            via=acting.via,
            rules=desk.rules.current,
            now=now,
        )
        audit_action(session, caller, acting, "report", incident, None, now)
        return fields_of(session, incident)


class _Transition(Protocol):
    """`service.acknowledge`, `resolve` and `reopen`: the same arguments, the same answer."""

    def __call__(
        self,
        session: Session,
        *,
        incident_id: int,
        actor: str,
        rules: RuleFile,
        now: datetime,
        note: str | None = None,
        via: str | None = None,
    ) -> Incident: ...


def _step(
    desk: IncidentDesk,
    caller: Caller,
    incident_id: int,
    body: ActionBody,
    action: str,
    transition: _Transition,
) -> dict[str, Any]:
    """A transition that needs only the rules and a note, audited as `action`."""

    def change(session: Session, acting: Acting, now: datetime) -> Incident:
        return transition(
            session,
            incident_id=incident_id,
            actor=acting.actor,
            via=acting.via,
            rules=desk.rules.current,
            now=now,
            note=body.note,
        )

    return _audited(desk, caller, body.actor, action, incident_id, change)


def acknowledge(
    desk: IncidentDesk, caller: Caller, incident_id: int, body: ActionBody
) -> dict[str, Any]:
    return _step(desk, caller, incident_id, body, "ack", service.acknowledge)


def resolve(
    desk: IncidentDesk, caller: Caller, incident_id: int, body: ActionBody
) -> dict[str, Any]:
    return _step(desk, caller, incident_id, body, "resolve", service.resolve)


def close(desk: IncidentDesk, caller: Caller, incident_id: int, body: CloseBody) -> dict[str, Any]:
    def change(session: Session, acting: Acting, now: datetime) -> Incident:
        return service.close(
            session,
            incident_id=incident_id,
            actor=acting.actor,
            via=acting.via,
            confirmed_by=body.confirmed_by,
            now=now,
            note=body.note,
        )

    return _audited(desk, caller, body.actor, "close", incident_id, change)


def reopen(
    desk: IncidentDesk, caller: Caller, incident_id: int, body: ActionBody
) -> dict[str, Any]:
    return _step(desk, caller, incident_id, body, "reopen", service.reopen)


def add_note(
    desk: IncidentDesk, caller: Caller, incident_id: int, body: NoteBody
) -> dict[str, Any]:
    acting = caller.acting(body.actor)
    now = desk.clock()
    with writing_session(desk.engine) as session:
        service.add_note(
            session,
            incident_id=incident_id,
            actor=acting.actor,
            via=acting.via,
            note=body.note,
            now=now,
        )
        record(
            session,
            caller,
            action="incident.note",
            at=now,
            target=f"incident:{incident_id}",
            after={"note": body.note},
            acting=acting,
        )
    return {"incident_id": incident_id, "actor": acting.actor, "via": acting.via, "note": body.note}


def reclassify(
    desk: IncidentDesk, caller: Caller, incident_id: int, body: ReclassifyBody
) -> dict[str, Any]:
    """Change priority, category, impact, service or title (the route asks a manager)."""
    if not body.model_dump(exclude_none=True, exclude={"actor", "note"}):
        # The body's own shape, refused as the service refuses a value it cannot use.
        raise ApiError(
            422,
            "invalid_value",
            "nothing to change: give priority, category, impact, service or title",
        )

    def change(session: Session, acting: Acting, now: datetime) -> Incident:
        return service.reclassify(
            session,
            incident_id=incident_id,
            change=service.Reclassification(
                priority=body.priority,
                category=body.category,
                impact=body.impact,
                service=body.service,
                title=body.title,
            ),
            actor=acting.actor,
            via=acting.via,
            rules=desk.rules.current,
            now=now,
            note=body.note,
        )

    return _audited(desk, caller, body.actor, "reclassify", incident_id, change)
