"""The console's months page: a month per service, open or closed (the signed month), its raw
and adjusted figures, the changes since close, the adjustments and the disputes; and the
forms a manager closes, reopens, adjusts and disputes it with.

Every form calls `ledger.desk`, as the API's `/api/v1/months/{month}` routes do, and answers
with a redirect to the month, or with the page again and the server's reason (403 role, 409
state, 422 value). Times are typed and shown in the viewer's zone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from access.audit import Caller
from access.guard import caller_of
from access.roles import Role
from availability.periods import parse_month
from console.desk import (
    ConsoleDesk,
    Desk,
    Language,
    Looking,
    Viewer,
    answer_page,
    form_fields,
    form_values,
    refused,
    typed_instant,
)
from console.messages import N_
from core.bounds import MAX_ROW_ID
from core.errors import ApiError
from ledger import desk as actions
from ledger.desk import (
    AdjustmentBody,
    CloseBody,
    DecisionBody,
    DisputeBody,
    ReopenBody,
    ResolveBody,
)
from ledger.service import CATEGORIES
from ledger.view import month_view

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
MonthText = Annotated[str, Path(min_length=1, max_length=7)]
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
Picked = Annotated[str | None, Query(max_length=7)]

# What the page calls each value of the signed month (the API's words are the keys).
CATEGORY_LABELS = {
    "false_alarm": N_("False alarm"),
    "customer_caused": N_("Caused by the customer"),
    "force_majeure": N_("Force majeure"),
    "third_party": N_("Third party"),
    "monitoring_error": N_("Monitoring error"),
    "agreed_with_customer": N_("Agreed with the customer"),
}
ACTION_LABELS = {
    "exclude": N_("Exclude downtime"),
    "shorten": N_("Shorten downtime"),
    "add": N_("Add downtime"),
    "accept": N_("Accept a change since close"),
}
# The states of each kind of row, worded for each (a month is open, a dispute unresolved).
STATE_LABELS = {
    "month": {
        "open": N_("Open"),
        "closed": N_("Closed"),
        "partly_closed": N_("Partly closed"),
    },
    "adjustment": {
        "awaiting_approval": N_("Awaiting approval"),
        "applied": N_("Applied"),
        "rejected": N_("Rejected"),
    },
    "dispute": {"open": N_("Not resolved"), "resolved": N_("Resolved")},
    "change": {
        "pending": N_("Pending"),
        "accepted": N_("Accepted"),
        "superseded": N_("Superseded"),
    },
}
UNKNOWN_LABELS = {
    "up": N_("counted as up"),
    "down": N_("counted as down"),
    "excluded": N_("left out of the month"),
}
# The actions of the adjustment form (accepting a change has its own button).
EDITS = ("exclude", "shorten", "add")
assert set(CATEGORY_LABELS) == set(CATEGORIES)


@router.get("/months")
async def months_picker(
    request: Request, viewer: Looking, desk: Desk, month: Picked = None, lang: Language = None
) -> Response:
    """The month picked in the form, else the last month (the one to close)."""
    if viewer.caller is None:
        return RedirectResponse("/login", status_code=303)
    chosen = month or _last_month(desk)
    query = f"?{urlencode({'lang': lang})}" if lang else ""
    return RedirectResponse(f"/months/{quote(chosen, safe='')}{query}", status_code=303)


@router.get("/months/{month}")
async def month_page(
    request: Request, month: MonthText, viewer: Looking, desk: Desk, lang: Language = None
) -> Response:
    if viewer.caller is None:
        return RedirectResponse("/login", status_code=303)
    return await _page(request, viewer, desk, month, {})


async def _page(
    request: Request,
    viewer: Viewer,
    desk: ConsoleDesk,
    month: str,
    extra: dict[str, Any],
    status_code: int = 200,
) -> Response:
    """The month's page (with a refusal and the refused form's fields in `extra`), or the
    error page for a month that names no month or has not begun."""
    try:
        context = await run_in_threadpool(_month, desk, month)
    except (ApiError, ValueError, LookupError) as error:
        problem = refused(error)
        return answer_page(
            request, viewer, "error.html.j2", {"error": problem}, status_code=problem.status
        )
    return answer_page(
        request, viewer, "month.html.j2", {**context, **extra}, status_code=status_code
    )


def _month(desk: ConsoleDesk, month: str) -> dict[str, Any]:
    year, number = parse_month(month)
    ledger = desk.months
    rules, now = ledger.rules.current, ledger.clock()
    with ledger.sessions() as session:
        view = month_view(session, rules=rules, year=year, month=number, now=now)
    services = view["services"]
    following = _shifted(year, number, 1)
    return {
        "page": "months",
        "month": month,
        "view": view,
        "previous": _shifted(year, number, -1),
        "next": following if following <= _this_month(desk) else None,
        "open_services": [s["service"] for s in services if s["month_state"] == "open"],
        "closed_services": [s["service"] for s in services if s["month_state"] == "closed"],
        "awaiting": sum(a["state"] == "awaiting_approval" for a in view["adjustments"]),
        "edits": EDITS,
        "categories": CATEGORY_LABELS,
        "action_labels": ACTION_LABELS,
        "states": STATE_LABELS,
        "unknown_labels": UNKNOWN_LABELS,
        "fields": {},
        "chosen": [],
        "failed": None,
    }


def _shifted(year: int, month: int, by: int) -> str:
    index = year * 12 + month - 1 + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _this_month(desk: ConsoleDesk) -> str:
    now = desk.months.clock().astimezone(desk.months.rules.current.timezone)
    return f"{now.year:04d}-{now.month:02d}"


def _last_month(desk: ConsoleDesk) -> str:
    year, month = parse_month(_this_month(desk))
    return _shifted(year, month, -1)


@dataclass(frozen=True, slots=True)
class Posted:
    """A month's form as posted: its fields, the services ticked, the viewer's zone."""

    month: str
    fields: dict[str, str]
    chosen: list[str]
    zone: str


Act = Callable[[ConsoleDesk, Caller, Posted], object]


async def _act(
    request: Request, viewer: Viewer, desk: ConsoleDesk, month: str, form: str, act: Act
) -> Response:
    """Apply `act` as the signed-in manager: back to the month's `form`, or the page again
    with the server's reason and the form as it was filled in."""
    fields = await form_fields(request)
    chosen = await form_values(request, "services")
    try:
        parse_month(month)
        caller = await caller_of(request, Role.MANAGER)
        posted = Posted(month, fields, chosen, viewer.zone)
        await run_in_threadpool(act, desk, caller, posted)
    except (ApiError, ValueError, LookupError) as error:
        problem = refused(error)
        extra = {"error": problem, "failed": form, "fields": fields, "chosen": chosen}
        return await _page(request, viewer, desk, month, extra, problem.status)
    return RedirectResponse(f"/months/{month}#{form}", status_code=303)


def _services(posted: Posted) -> list[str] | None:
    """The services a close or reopen is for: every one (None), or those ticked."""
    if posted.fields.get("scope") == "all":
        return None
    if not posted.chosen:
        raise ApiError(
            422, "invalid_payload", "services: tick at least one service, or choose all of them"
        )
    return posted.chosen


def _body(posted: Posted, names: tuple[str, ...]) -> dict[str, Any]:
    """The form's `names`, and its start and end typed in the viewer's zone."""
    body: dict[str, Any] = {name: posted.fields[name] for name in names if name in posted.fields}
    for name in ("start", "end"):
        instant: datetime | None = typed_instant(posted.fields, name, posted.zone)
        if instant is not None:
            body[name] = instant
    return body


def _close(desk: ConsoleDesk, caller: Caller, posted: Posted) -> object:
    body = CloseBody(services=_services(posted))
    return actions.close(desk.months, caller, posted.month, body)


def _reopen(desk: ConsoleDesk, caller: Caller, posted: Posted) -> object:
    body = ReopenBody(services=_services(posted), **_body(posted, ("reason",)))
    return actions.reopen(desk.months, caller, posted.month, body)


def _adjust(desk: ConsoleDesk, caller: Caller, posted: Posted) -> object:
    names = ("service", "action", "category", "reason", "pending_change_id")
    body = AdjustmentBody(**_body(posted, names))
    return actions.adjust(desk.months, caller, posted.month, body)


def _dispute(desk: ConsoleDesk, caller: Caller, posted: Posted) -> object:
    body = DisputeBody(**_body(posted, ("service", "contact", "reason")))
    return actions.dispute(desk.months, caller, posted.month, body)


def _decide(
    desk: ConsoleDesk, caller: Caller, posted: Posted, *, adjustment_id: int, approve: bool
) -> object:
    return actions.decide(
        desk.months, caller, posted.month, adjustment_id, approve=approve, body=DecisionBody()
    )


def _resolve(desk: ConsoleDesk, caller: Caller, posted: Posted, *, dispute_id: int) -> object:
    body = ResolveBody(**_body(posted, ("resolution",)))
    return actions.resolve(desk.months, caller, posted.month, dispute_id, body)


@router.post("/months/{month}/close")
async def close_form(request: Request, month: MonthText, viewer: Looking, desk: Desk) -> Response:
    return await _act(request, viewer, desk, month, "close", _close)


@router.post("/months/{month}/reopen")
async def reopen_form(request: Request, month: MonthText, viewer: Looking, desk: Desk) -> Response:
    return await _act(request, viewer, desk, month, "reopen", _reopen)


@router.post("/months/{month}/adjustments")
async def adjust_form(request: Request, month: MonthText, viewer: Looking, desk: Desk) -> Response:
    # Accepting a change since close is done from the change's own row.
    accepting = "pending_change_id" in await form_fields(request)
    return await _act(request, viewer, desk, month, "changes" if accepting else "adjust", _adjust)


@router.post("/months/{month}/adjustments/{adjustment_id}/{decision}")
async def decide_form(
    request: Request,
    month: MonthText,
    adjustment_id: RowId,
    decision: str,
    viewer: Looking,
    desk: Desk,
) -> Response:
    if decision not in ("approve", "reject"):
        raise ApiError(404, "not_found", f"no decision {decision!r}; known: approve, reject")
    act = partial(_decide, adjustment_id=adjustment_id, approve=decision == "approve")
    return await _act(request, viewer, desk, month, "adjustments", act)


@router.post("/months/{month}/disputes")
async def dispute_form(request: Request, month: MonthText, viewer: Looking, desk: Desk) -> Response:
    return await _act(request, viewer, desk, month, "dispute", _dispute)


@router.post("/months/{month}/disputes/{dispute_id}/resolve")
async def resolve_form(
    request: Request, month: MonthText, dispute_id: RowId, viewer: Looking, desk: Desk
) -> Response:
    act = partial(_resolve, dispute_id=dispute_id)
    return await _act(request, viewer, desk, month, "disputes", act)
