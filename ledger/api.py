"""`/api/v1/months/{YYYY-MM}`: close, reopen, adjust, approve, dispute; and the report.

Reads need a viewer, every change a manager. Errors (`ERRORS`): 400 a month that names no
month, 404 an unknown service, adjustment or dispute, 409 a state that does not allow the
change (closed already, not closed, the creator approving their own adjustment), 422 a
month not over yet or an adjustment that would change nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response

from access.guard import Manager, Viewer
from availability.periods import parse_month
from availability.report_response import (
    REPORT_CONTENT,
    ReportFormat,
    ReportLanguage,
    report_response,
)
from availability.resources import ComplianceReportResource
from core.binding import StateSlot
from core.bounds import MAX_ROW_ID
from core.errors import ErrorStatus, ErrorTable, error_responses
from core.responses import JSONBody
from ledger import desk as actions
from ledger import service, store
from ledger.desk import (
    AdjustmentBody,
    CloseBody,
    DecisionBody,
    DisputeBody,
    LedgerDesk,
    ReopenBody,
    ResolveBody,
)
from ledger.listing import adjustment_fields, wire
from ledger.reporting import month_report
from ledger.resources import (
    AdjustmentPage,
    AdjustmentResource,
    ClosedPage,
    DisputeResource,
    MonthResource,
)
from ledger.view import month_view

__all__ = ["ERRORS", "install", "router"]

ERRORS: ErrorTable = {
    service.MonthNotOver: ErrorStatus(422, "invalid_period"),
    service.InvalidAdjustment: ErrorStatus(422, "invalid_adjustment"),
    service.AlreadyClosed: ErrorStatus(409, "conflict"),
    service.NotClosed: ErrorStatus(409, "conflict"),
    service.SecondPersonRequired: ErrorStatus(409, "second_person_required"),
    service.AdjustmentNotFound: ErrorStatus(404, "not_found"),
    service.DisputeNotFound: ErrorStatus(404, "not_found"),
}

_SLOT = StateSlot[LedgerDesk]("ledger_desk")
Desk = Annotated[LedgerDesk, Depends(_SLOT)]
Month = Annotated[str, Path(pattern=r"^[0-9]{4}-[0-9]{2}$", examples=["2026-11"])]
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
router = APIRouter(prefix="/api/v1", tags=["months"])
_WRITE = error_responses(400, 401, 403, 404, 409, 422, 503)


def install(app: FastAPI, desk: LedgerDesk) -> None:
    _SLOT.put(app, desk)
    app.include_router(router)


def _checked(month: str) -> str:
    parse_month(month)
    return month


@router.get(
    "/months/{month}",
    summary="A month: closed or open per service, raw and adjusted figures, what changed",
    response_model=MonthResource,
    responses=error_responses(400, 401, 403, 404, 422, 503),
)
def get_month(month: Month, desk: Desk, _caller: Viewer) -> Response:
    year, number = parse_month(month)
    with desk.sessions() as session:
        view = month_view(
            session, rules=desk.rules.current, year=year, month=number, now=desk.clock()
        )
    return JSONBody(view)


@router.post(
    "/months/{month}/close",
    summary="Close a month (manager)",
    response_model=ClosedPage,
    responses=_WRITE,
)
def post_close(month: Month, body: CloseBody, desk: Desk, caller: Manager) -> Response:
    return JSONBody({"items": actions.close(desk, caller, _checked(month), body)})


@router.post(
    "/months/{month}/reopen",
    summary="Reopen a closed month (manager)",
    response_model=ClosedPage,
    responses=_WRITE,
)
def post_reopen(month: Month, body: ReopenBody, desk: Desk, caller: Manager) -> Response:
    return JSONBody({"items": actions.reopen(desk, caller, _checked(month), body)})


@router.get(
    "/months/{month}/adjustments",
    summary="A month's adjustments, by id",
    response_model=AdjustmentPage,
    responses=error_responses(400, 401, 403, 404, 503),
)
def get_adjustments(month: Month, desk: Desk, _caller: Viewer) -> Response:
    # A list, read as it is: nothing measured (the month's figures are `GET /months/{month}`).
    with desk.sessions() as session:
        made = store.adjustments_of(session, _checked(month))
        items = [wire(adjustment_fields(adjustment)) for adjustment in made]
    return JSONBody({"items": items, "next_cursor": None})


@router.post(
    "/months/{month}/adjustments",
    status_code=201,
    response_model=AdjustmentResource,
    summary="Adjust a closed month (manager)",
    responses=_WRITE,
)
def post_adjustment(month: Month, body: AdjustmentBody, desk: Desk, caller: Manager) -> Response:
    fields = actions.adjust(desk, caller, _checked(month), body)
    return JSONBody(fields, status_code=201)


@router.post(
    "/months/{month}/adjustments/{adjustment_id}/approve",
    summary="Approve an adjustment (a second manager)",
    response_model=AdjustmentResource,
    responses=_WRITE,
)
def post_approve(
    month: Month,
    adjustment_id: RowId,
    desk: Desk,
    caller: Manager,
    body: DecisionBody | None = None,
) -> Response:
    decided = actions.decide(
        desk, caller, _checked(month), adjustment_id, approve=True, body=body or DecisionBody()
    )
    return JSONBody(decided)


@router.post(
    "/months/{month}/adjustments/{adjustment_id}/reject",
    summary="Reject an adjustment (a second manager)",
    response_model=AdjustmentResource,
    responses=_WRITE,
)
def post_reject(
    month: Month,
    adjustment_id: RowId,
    desk: Desk,
    caller: Manager,
    body: DecisionBody | None = None,
) -> Response:
    decided = actions.decide(
        desk, caller, _checked(month), adjustment_id, approve=False, body=body or DecisionBody()
    )
    return JSONBody(decided)


@router.post(
    "/months/{month}/disputes",
    status_code=201,
    response_model=DisputeResource,
    summary="Record a customer's dispute of a window (manager)",
    responses=_WRITE,
)
def post_dispute(month: Month, body: DisputeBody, desk: Desk, caller: Manager) -> Response:
    return JSONBody(actions.dispute(desk, caller, _checked(month), body), status_code=201)


@router.post(
    "/months/{month}/disputes/{dispute_id}/resolve",
    response_model=DisputeResource,
    summary="Resolve a dispute (manager)",
    responses=_WRITE,
)
def post_resolve(
    month: Month, dispute_id: RowId, body: ResolveBody, desk: Desk, caller: Manager
) -> Response:
    return JSONBody(actions.resolve(desk, caller, _checked(month), dispute_id, body))


@router.get(
    "/reports/availability",
    summary="The monthly compliance report (a closed month's from its record)",
    description=(
        "JSON (the default), CSV, HTML or PDF (A4, printed by headless Chromium). HTML and PDF "
        "are in `lang`, or else the best of `Accept-Language` among en and zh-CN, else en. "
        "A service whose month is closed is reported from its record, adjusted."
    ),
    response_model=ComplianceReportResource,
    responses={200: {"content": REPORT_CONTENT}, **error_responses(400, 401, 403, 422, 503)},
)
def get_report(
    request: Request,
    month: Annotated[str, Query(examples=["2026-11"])],
    desk: Desk,
    _caller: Viewer,
    format: ReportFormat = "json",
    lang: ReportLanguage | None = None,
) -> Response:
    year, number = parse_month(month)
    with desk.sessions() as session:
        report = month_report(
            session, rules=desk.rules.current, year=year, month=number, now=desk.clock()
        )
    return report_response(report, format, lang, request)
