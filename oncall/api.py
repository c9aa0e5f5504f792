"""`/api/v1/oncall` (who is on call) and `/api/v1/rotations` with their overrides.

Reads need a viewer; rotations are changed by a manager, overrides (someone covers a shift)
by an operator. Errors are answered by `ERRORS`: 404 an unknown rotation or override, 422 a
person without an active account, a calendar the rule file lacks, an override that cannot be.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Response
from pydantic import BaseModel, Field

from access.guard import Manager, Operator, Viewer
from core.binding import StateSlot
from core.bounds import MAX_ROW_ID, Instant
from core.errors import ErrorStatus, ErrorTable, error_responses
from core.responses import JSONBody
from core.wire import rfc3339
from oncall import service
from oncall.roster import UnknownCalendar
from oncall.service import OncallDesk, OverrideBody
from oncall.store import override_rows, rotation_entries
from rules.reaching import RotationSpec

__all__ = ["ERRORS", "install", "router"]

ERRORS: ErrorTable = {
    service.UnknownRotation: ErrorStatus(404, "not_found"),
    service.RotationNotStored: ErrorStatus(404, "not_found"),
    service.OverrideNotFound: ErrorStatus(404, "not_found"),
    service.UnknownPerson: ErrorStatus(422, "invalid_payload"),
    service.InvalidOverride: ErrorStatus(422, "invalid_payload"),
    UnknownCalendar: ErrorStatus(422, "invalid_payload"),
}

_SLOT = StateSlot[OncallDesk]("oncall_desk")
Desk = Annotated[OncallDesk, Depends(_SLOT)]
RotationName = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$")
]
OverrideId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


def install(app: FastAPI, desk: OncallDesk) -> None:
    """Serve the on-call routes in `app`."""
    _SLOT.put(app, desk)
    app.include_router(router)


router = APIRouter(prefix="/api/v1", tags=["on call"])


class TurnResource(BaseModel):
    person: str
    start: datetime
    end: datetime
    layer: int | None = Field(description="the layer's index; null for an override")
    override: int | None = Field(description="the override's id; null for a layer's shift")


class OncallResource(BaseModel):
    rotation: str
    source: Literal["rules", "api"]
    timezone: str
    current: TurnResource | None = Field(description="who is on call now; null: nobody")
    upcoming: list[TurnResource] = Field(description="the turns after, within the horizon")
    problems: list[str] = Field(description="e.g. a participant without an active account")


class OncallPage(BaseModel):
    at: datetime
    items: list[OncallResource]


class RotationResource(RotationSpec):
    name: str
    source: Literal["rules", "api"]
    updated_by: str | None
    updated_at: datetime | None


class RotationPage(BaseModel):
    items: list[RotationResource]


class OverrideResource(BaseModel):
    id: int
    rotation: str
    person: str
    start: datetime
    end: datetime
    reason: str
    created_by: str
    created_at: datetime


class OverridePage(BaseModel):
    items: list[OverrideResource]


class Deleted(BaseModel):
    deleted: bool
    deleted_by: str


@router.get(
    "/oncall",
    summary="Who is on call in each rotation, and the next hand-offs",
    response_model=OncallPage,
    responses=error_responses(400, 401, 403, 503),
)
def get_oncall(
    desk: Desk,
    _caller: Viewer,
    at: Instant | None = None,
    horizon_hours: Annotated[int, Query(ge=1, le=24 * 31)] = 7 * 24,
) -> Response:
    moment = at or desk.clock()
    with desk.sessions() as session:
        found = service.who_is_on_call(
            session,
            rules=desk.rules.current,
            at=moment,
            horizon=timedelta(hours=horizon_hours),
        )
    return JSONBody({"at": rfc3339(moment), "items": [now.resource() for now in found]})


@router.get(
    "/rotations",
    summary="Rotations: the rule file's and the API's",
    response_model=RotationPage,
    responses=error_responses(400, 401, 403, 503),
)
def get_rotations(desk: Desk, _caller: Viewer) -> Response:
    with desk.sessions() as session:
        entries = rotation_entries(session, desk.rules.current)
    return JSONBody({"items": [service.rotation_resource(e) for e in entries.values()]})


@router.get(
    "/rotations/{name}",
    summary="One rotation",
    response_model=RotationResource,
    responses=error_responses(400, 401, 403, 404, 503),
)
def get_rotation(name: RotationName, desk: Desk, _caller: Viewer) -> Response:
    with desk.sessions() as session:
        entry = rotation_entries(session, desk.rules.current).get(name)
    if entry is None:
        raise service.UnknownRotation(name)
    return JSONBody(service.rotation_resource(entry))


@router.put(
    "/rotations/{name}",
    summary="Create or replace a rotation (it replaces the rule file's of that name)",
    response_model=RotationResource,
    responses=error_responses(400, 401, 403, 404, 422, 503),
)
def put_rotation(name: RotationName, body: RotationSpec, desk: Desk, caller: Manager) -> Response:
    fields, created = service.save_rotation(desk, caller, name, body)
    return JSONBody(fields, status_code=201 if created else 200)


@router.delete(
    "/rotations/{name}",
    summary="Delete the API's rotation (the rule file's of that name, if any, is back)",
    response_model=Deleted,
    responses=error_responses(400, 401, 403, 404, 503),
)
def remove_rotation(name: RotationName, desk: Desk, caller: Manager) -> Response:
    return JSONBody(service.delete_rotation(desk, caller, name))


@router.get(
    "/rotations/{name}/overrides",
    summary="A rotation's overrides that end after `since` (default: now)",
    response_model=OverridePage,
    responses=error_responses(400, 401, 403, 404, 503),
)
def get_overrides(
    name: RotationName, desk: Desk, _caller: Viewer, since: Instant | None = None
) -> Response:
    start = since or desk.clock()
    with desk.sessions() as session:
        if name not in rotation_entries(session, desk.rules.current):
            raise service.UnknownRotation(name)
        rows = override_rows(session, [name], start, start + timedelta(days=3660))
        items = [service.override_resource(row) for row in rows]
    return JSONBody({"items": items})


@router.post(
    "/rotations/{name}/overrides",
    status_code=201,
    summary="Someone covers the rotation from start to end",
    response_model=OverrideResource,
    responses=error_responses(400, 401, 403, 404, 422, 503),
)
def post_override(name: RotationName, body: OverrideBody, desk: Desk, caller: Operator) -> Response:
    return JSONBody(service.add_override(desk, caller, name, body), status_code=201)


@router.delete(
    "/rotations/{name}/overrides/{override_id}",
    summary="Delete an override",
    response_model=Deleted,
    responses=error_responses(400, 401, 403, 404, 503),
)
def remove_override(
    name: RotationName, override_id: OverrideId, desk: Desk, caller: Operator
) -> Response:
    return JSONBody(service.delete_override(desk, caller, name, override_id))
