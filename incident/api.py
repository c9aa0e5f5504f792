"""`/api/v1/incidents`: list, show, report, and the lifecycle actions of NOC staff.

Routes parse and call `incident.service`; its errors are answered by `ERRORS`: 404 unknown
incident, 409 a change the incident's state does not allow, 422 a value the rule file does
not know.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from collector.resources import alert_resource
from core.binding import StateSlot
from core.bounds import MAX_ROW_ID, Instant, ServiceName, StorableText
from core.database import writing_session
from core.errors import ApiError, ErrorStatus, ErrorTable, error_responses
from core.responses import JSONBody
from core.security import require_token_of
from core.wire import decode_cursor, encode_cursor
from incident import service
from incident.lifecycle import InvalidTransition, State
from incident.models import Incident
from incident.queries import IncidentQuery, get_incident, list_incidents
from incident.resources import (
    IncidentDetailResource,
    IncidentPage,
    IncidentResource,
    NoteResource,
    event_resource,
)
from incident.store import count_alerts, incident_fields
from rules.reloading import ActiveRules
from rules.schema import NAME_MAX_LENGTH, Category, Impact

__all__ = ["ERRORS", "IncidentDesk", "install", "router"]

ERRORS: ErrorTable = {
    service.IncidentNotFound: ErrorStatus(404, "not_found"),
    InvalidTransition: ErrorStatus(
        409,
        "invalid_transition",
        details=lambda error: {"state": error.state.value, "action": error.action.value},
    ),
    service.GroupAlreadyActive: ErrorStatus(
        409, "group_active", details=lambda error: {"active_id": error.active_id}
    ),
    service.InvalidChange: ErrorStatus(
        422, "invalid_value", details=lambda error: {"field": error.field}
    ),
}

_CURSOR_KIND = "i"
Name = Annotated[StorableText, Field(min_length=1, max_length=200)]
RuleName = Annotated[StorableText, Field(min_length=1, max_length=NAME_MAX_LENGTH)]
Note = Annotated[StorableText, Field(min_length=1, max_length=10_000)]
Title = Annotated[StorableText, Field(min_length=1, max_length=500)]
IncidentId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


class Channel(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    PORTAL = "portal"
    CHAT = "chat"
    OTHER = "other"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReportBody(_Body):
    """A manual incident; `started_at` is when the problem began, if earlier than now."""

    title: Title
    service: ServiceName
    priority: RuleName
    impact: Impact = Impact.NONE
    category: Category = Category.OTHER
    reporter: Name
    channel: Channel
    level: RuleName | None = None
    started_at: Instant | None = None
    actor: Name | None = Field(default=None, description="who entered it (default: reporter)")


class ActionBody(_Body):
    actor: Name = Field(description="who did it, for the timeline")
    note: Note | None = None


class CloseBody(ActionBody):
    confirmed_by: Name = Field(description="who confirmed the resolution")


class NoteBody(_Body):
    actor: Name
    note: Note


class ReclassifyBody(ActionBody):
    priority: RuleName | None = None
    category: Category | None = None
    impact: Impact | None = None
    service: ServiceName | None = None
    title: Title | None = None


def incident_resource(session: Session, incident: Incident, status_code: int = 200) -> JSONBody:
    """The incident with its alert count, read in `session`, as the answer."""
    [alert_count] = count_alerts(session, [incident.id]).values()
    return JSONBody(incident_fields(incident, alert_count=alert_count), status_code=status_code)


@dataclass(frozen=True, slots=True)
class IncidentDesk:
    """What the incident routes are bound to: the database, the rules, the clock, the tokens."""

    engine: Engine
    sessions: sessionmaker[Session]
    rules: ActiveRules
    clock: Callable[[], datetime]
    api_tokens: Sequence[str]


_SLOT = StateSlot[IncidentDesk]("incident_desk")


def install(app: FastAPI, desk: IncidentDesk) -> None:
    """Serve the incident routes in `app`; writes need an API token when tokens are set."""
    _SLOT.put(app, desk)
    app.include_router(router)


Desk = Annotated[IncidentDesk, Depends(_SLOT)]
router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])
_WRITES = [Depends(require_token_of(lambda request: _SLOT.of(request).api_tokens, "API"))]
# A lifecycle action may meet an unknown id, or a state it cannot start from.
_ACTION_ERRORS = error_responses(400, 401, 404, 409, 503)


@router.get(
    "",
    summary="Incidents, newest first",
    response_model=IncidentPage,
    responses=error_responses(400, 503),
)
def get_incidents(
    desk: Desk,
    state: Annotated[list[State], Query()] = [],  # noqa: B006 - FastAPI copies defaults
    priority: Annotated[list[str], Query()] = [],  # noqa: B006
    service_name: Annotated[str | None, Query(alias="service")] = None,
    source: Annotated[str | None, Query(pattern="^(alert|manual)$")] = None,
    level: Annotated[list[str], Query()] = [],  # noqa: B006
    category: Annotated[list[Category], Query()] = [],  # noqa: B006
    impact: Annotated[list[Impact], Query()] = [],  # noqa: B006
    breached: Annotated[
        bool | None, Query(description="only incidents that breached (true) or did not")
    ] = None,
    since: Instant | None = None,
    until: Instant | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> Response:
    query = IncidentQuery(
        states=tuple(item.value for item in state),
        priorities=tuple(priority),
        service=service_name,
        source=source,
        levels=tuple(level),
        categories=tuple(item.value for item in category),
        impacts=tuple(item.value for item in impact),
        breached=breached,
        since=since,
        until=until,
        after_id=decode_cursor(cursor, _CURSOR_KIND) if cursor else None,
        limit=limit,
    )
    with desk.sessions() as session:
        rows, next_after = list_incidents(session, query)
        counts = count_alerts(session, [row.id for row in rows])
        items = [incident_fields(row, alert_count=counts[row.id]) for row in rows]
    next_cursor = encode_cursor(next_after, _CURSOR_KIND) if next_after else None
    return JSONBody({"items": items, "next_cursor": next_cursor})


@router.get(
    "/{incident_id}",
    summary="One incident, with its alerts and timeline",
    response_model=IncidentDetailResource,
    responses=error_responses(400, 404, 503),
)
def get_one(incident_id: IncidentId, desk: Desk) -> Response:
    with desk.sessions() as session:
        detail = get_incident(session, incident_id)
        if detail is None:
            raise service.IncidentNotFound(incident_id)
        return JSONBody(
            {
                **incident_fields(detail.incident, alert_count=len(detail.alerts)),
                "alerts": [alert_resource(alert) for alert in detail.alerts],
                "timeline": [event_resource(event) for event in detail.timeline],
            }
        )


@router.post(
    "",
    status_code=201,
    dependencies=_WRITES,
    summary="Report a manual incident",
    response_model=IncidentResource,
    responses=error_responses(400, 401, 422, 503),
)
def report(body: ReportBody, desk: Desk) -> Response:
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
            actor=body.actor or body.reporter,
            rules=desk.rules.current,
            now=desk.clock(),
        )
        answer = incident_resource(session, incident, status_code=201)
    answer.headers["Location"] = f"/api/v1/incidents/{incident.id}"
    return answer


@router.post(
    "/{incident_id}/ack",
    dependencies=_WRITES,
    summary="Acknowledge",
    response_model=IncidentResource,
    responses=_ACTION_ERRORS,
)
def ack(incident_id: IncidentId, body: ActionBody, desk: Desk) -> Response:
    with writing_session(desk.engine) as session:
        incident = service.acknowledge(
            session,
            incident_id=incident_id,
            actor=body.actor,
            rules=desk.rules.current,
            now=desk.clock(),
            note=body.note,
        )
        return incident_resource(session, incident)


@router.post(
    "/{incident_id}/resolve",
    dependencies=_WRITES,
    summary="Resolve",
    response_model=IncidentResource,
    responses=_ACTION_ERRORS,
)
def resolve(incident_id: IncidentId, body: ActionBody, desk: Desk) -> Response:
    with writing_session(desk.engine) as session:
        incident = service.resolve(
            session,
            incident_id=incident_id,
            actor=body.actor,
            rules=desk.rules.current,
            now=desk.clock(),
            note=body.note,
        )
        return incident_resource(session, incident)


@router.post(
    "/{incident_id}/close",
    dependencies=_WRITES,
    summary="Close a resolved incident",
    response_model=IncidentResource,
    responses=_ACTION_ERRORS,
)
def close(incident_id: IncidentId, body: CloseBody, desk: Desk) -> Response:
    with writing_session(desk.engine) as session:
        incident = service.close(
            session,
            incident_id=incident_id,
            actor=body.actor,
            confirmed_by=body.confirmed_by,
            now=desk.clock(),
            note=body.note,
        )
        return incident_resource(session, incident)


@router.post(
    "/{incident_id}/reopen",
    dependencies=_WRITES,
    summary="Reopen",
    response_model=IncidentResource,
    responses=_ACTION_ERRORS,
)
def reopen(incident_id: IncidentId, body: ActionBody, desk: Desk) -> Response:
    with writing_session(desk.engine) as session:
        incident = service.reopen(
            session,
            incident_id=incident_id,
            actor=body.actor,
            rules=desk.rules.current,
            now=desk.clock(),
            note=body.note,
        )
        return incident_resource(session, incident)


@router.post(
    "/{incident_id}/notes",
    status_code=201,
    dependencies=_WRITES,
    summary="Add a note",
    response_model=NoteResource,
    responses=error_responses(400, 401, 404, 503),
)
def notes(incident_id: IncidentId, body: NoteBody, desk: Desk) -> Response:
    with writing_session(desk.engine) as session:
        service.add_note(
            session, incident_id=incident_id, actor=body.actor, note=body.note, now=desk.clock()
        )
    note = {"incident_id": incident_id, "actor": body.actor, "note": body.note}
    return JSONBody(note, status_code=201)


@router.patch(
    "/{incident_id}",
    dependencies=_WRITES,
    summary="Reclassify (audited)",
    response_model=IncidentResource,
    responses=error_responses(400, 401, 404, 422, 503),
)
def patch(incident_id: IncidentId, body: ReclassifyBody, desk: Desk) -> Response:
    if not body.model_dump(exclude_none=True, exclude={"actor", "note"}):
        # The body's own shape, refused as the service refuses a value it cannot use.
        raise ApiError(
            422,
            "invalid_value",
            "nothing to change: give priority, category, impact, service or title",
        )
    with writing_session(desk.engine) as session:
        incident = service.reclassify(
            session,
            incident_id=incident_id,
            change=service.Reclassification(
                priority=body.priority,
                category=body.category,
                impact=body.impact,
                service=body.service,
                title=body.title,
            ),
            actor=body.actor,
            rules=desk.rules.current,
            now=desk.clock(),
            note=body.note,
        )
        return incident_resource(session, incident)
