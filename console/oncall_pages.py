"""The console's on-call page: who is on call in each rotation and the next hand-offs, the
overrides (someone covers a shift), added and deleted through `oncall.service` as the API
does (an operator may)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from access.guard import caller_of
from access.roles import Role
from console.desk import (
    ConsoleDesk,
    Desk,
    Language,
    Looking,
    answer_page,
    form_fields,
    refused,
    typed_instant,
)
from core.bounds import MAX_ROW_ID
from core.errors import ApiError
from oncall import service
from oncall.service import OverrideBody
from oncall.store import override_rows

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
OverrideId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
RotationName = Annotated[str, Path(min_length=1, max_length=64)]
AHEAD = timedelta(days=7)


@router.get("/oncall")
async def oncall_page(
    request: Request, viewer: Looking, desk: Desk, lang: Language = None
) -> Response:
    if viewer.caller is None:
        return RedirectResponse("/login", status_code=303)
    context = await run_in_threadpool(_oncall, desk, {})
    return answer_page(request, viewer, "oncall.html.j2", context)


def _oncall(desk: ConsoleDesk, fields: dict[str, str]) -> dict[str, Any]:
    oncall = desk.oncall
    now = oncall.clock()
    with oncall.sessions() as session:
        found = service.who_is_on_call(session, rules=oncall.rules.current, at=now, horizon=AHEAD)
        names = [item.entry.name for item in found]
        overrides = override_rows(session, names, now, now + timedelta(days=3660))
        session.expunge_all()
    return {
        "page": "oncall",
        "rotations": found,
        "overrides": overrides,
        "fields": fields,
        "now": now,
    }


@router.post("/oncall/overrides")
async def override_form(request: Request, viewer: Looking, desk: Desk) -> Response:
    fields = await form_fields(request)
    try:
        caller = await caller_of(request, Role.OPERATOR)
        rotation = fields.get("rotation", "")
        body = OverrideBody(**_override_body(desk, fields, viewer.zone))
        await run_in_threadpool(service.add_override, desk.oncall, caller, rotation, body)
    except (ApiError, ValueError, LookupError) as error:
        problem = refused(error)
        context = {**await run_in_threadpool(_oncall, desk, fields), "error": problem}
        return answer_page(request, viewer, "oncall.html.j2", context, status_code=problem.status)
    return RedirectResponse("/oncall", status_code=303)


def _override_body(desk: ConsoleDesk, fields: dict[str, str], zone: str) -> dict[str, Any]:
    """The override from the form: its times typed in the viewer's zone."""
    body: dict[str, Any] = {name: fields[name] for name in ("person", "reason") if name in fields}
    for name in ("start", "end"):
        if name in fields:
            body[name] = typed_instant(fields, name, zone)
    return body


@router.post("/oncall/overrides/{rotation}/{override_id}/delete")
async def delete_form(
    request: Request,
    rotation: RotationName,
    override_id: OverrideId,
    viewer: Looking,
    desk: Desk,
) -> Response:
    try:
        caller = await caller_of(request, Role.OPERATOR)
        await run_in_threadpool(service.delete_override, desk.oncall, caller, rotation, override_id)
    except (ApiError, LookupError) as error:
        problem = refused(error)
        context = {**await run_in_threadpool(_oncall, desk, {}), "error": problem}
        return answer_page(request, viewer, "oncall.html.j2", context, status_code=problem.status)
    return RedirectResponse("/oncall", status_code=303)
