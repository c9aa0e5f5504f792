"""`/api/v1/incidents`: list, show, report, and the lifecycle actions of NOC staff.

Routes parse and call `incident.service`; its errors are answered by `ERRORS`: 404 unknown
incident, 409 a change the incident's state does not allow, 422 a value the rule file does
not know.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Response

from access.guard import Manager, Operator, Viewer
from collector.resources import alert_resource
from core.binding import StateSlot
from core.bounds import MAX_ROW_ID, Instant
from core.errors import ErrorStatus, ErrorTable, error_responses
from core.responses import JSONBody
from core.wire import decode_cursor, encode_cursor
from incident import actions, service
from incident.actions import IncidentDesk
from incident.lifecycle import InvalidTransition, State
from incident.queries import IncidentQuery, get_incident, list_incidents
from incident.requests import ActionBody, CloseBody, NoteBody, ReclassifyBody, ReportBody
from incident.resources import (
    IncidentDetailResource,
    IncidentPage,
    IncidentResource,
    NoteResource,
    event_resource,
)
from incident.store import count_alerts, incident_fields
from rules.schema import Category, Impact

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
IncidentId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


_SLOT = StateSlot[IncidentDesk]("incident_desk")


def install(app: FastAPI, desk: IncidentDesk) -> None:
    """Serve the incident routes in `app`: reads need a viewer, actions an operator."""
    _SLOT.put(app, desk)
    app.include_router(router)


Desk = Annotated[IncidentDesk, Depends(_SLOT)]
router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])
# A lifecycle action may meet an unknown id, or a state it cannot start from.
_ACTION_ERRORS = error_responses(400, 401, 403, 404, 409, 503)


@router.get(
    "",
    summary="Incidents, newest first",
    response_model=IncidentPage,
    responses=error_responses(400, 401, 403, 503),
)
def get_incidents(
    _caller: Viewer,
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
    acknowledged_by: Annotated[
        str | None, Query(max_length=200, description="only incidents this person acknowledged")
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
        acknowledged_by=acknowledged_by,
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
    responses=error_responses(400, 401, 403, 404, 503),
)
def get_one(incident_id: IncidentId, desk: Desk, _caller: Viewer) -> Response:
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
    summary="Report a manual incident",
    response_model=IncidentResource,
    responses=error_responses(400, 401, 403, 422, 503),
)
def report(body: ReportBody, desk: Desk, caller: Operator) -> Response:
    fields = actions.report(desk, caller, body)
    location = {"Location": f"/api/v1/incidents/{fields['id']}"}
    return JSONBody(fields, status_code=201, headers=location)


@router.post(
    "/{incident_id}/ack",
    summary="Acknowledge",
    response_model=IncidentResource,
    responses=_ACTION_ERRORS,
)
def ack(incident_id: IncidentId, body: ActionBody, desk: Desk, caller: Operator) -> Response:
    return JSONBody(actions.acknowledge(desk, caller, incident_id, body))


@router.post(
    "/{incident_id}/resolve",
    summary="Resolve",
    response_model=IncidentResource,
    responses=_ACTION_ERRORS,
)
def resolve(incident_id: IncidentId, body: ActionBody, desk: Desk, caller: Operator) -> Response:
    return JSONBody(actions.resolve(desk, caller, incident_id, body))


@router.post(
    "/{incident_id}/close",
    summary="Close a resolved incident",
    response_model=IncidentResource,
    responses=_ACTION_ERRORS,
)
def close(incident_id: IncidentId, body: CloseBody, desk: Desk, caller: Operator) -> Response:
    return JSONBody(actions.close(desk, caller, incident_id, body))


@router.post(
    "/{incident_id}/reopen",
    summary="Reopen",
    response_model=IncidentResource,
    responses=_ACTION_ERRORS,
)
def reopen(incident_id: IncidentId, body: ActionBody, desk: Desk, caller: Operator) -> Response:
    return JSONBody(actions.reopen(desk, caller, incident_id, body))


@router.post(
    "/{incident_id}/notes",
    status_code=201,
    summary="Add a note",
    response_model=NoteResource,
    responses=error_responses(400, 401, 403, 404, 503),
)
def notes(incident_id: IncidentId, body: NoteBody, desk: Desk, caller: Operator) -> Response:
    return JSONBody(actions.add_note(desk, caller, incident_id, body), status_code=201)


@router.patch(
    "/{incident_id}",
    summary="Reclassify (manager; audited)",
    response_model=IncidentResource,
    responses=error_responses(400, 401, 403, 404, 422, 503),
)
def patch(incident_id: IncidentId, body: ReclassifyBody, desk: Desk, caller: Manager) -> Response:
    return JSONBody(actions.reclassify(desk, caller, incident_id, body))
