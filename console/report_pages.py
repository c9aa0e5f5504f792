"""The console's reports page: pick a month, read its compliance report in the page (the API's
own HTML report, in a frame), download it as HTML, PDF, CSV or JSON from the API; HTML and
PDF in the viewer's language."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from availability.periods import InvalidPeriod, parse_month
from console.desk import Desk, Language, Looking, answer_page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Month = Annotated[str | None, Query(max_length=7)]


@router.get("/reports")
async def reports_page(
    request: Request, viewer: Looking, desk: Desk, month: Month = None, lang: Language = None
) -> Response:
    if viewer.caller is None:
        return RedirectResponse("/login", status_code=303)
    now = desk.availability.clock()
    default = now.astimezone(desk.availability.rules.current.timezone)
    chosen = month or f"{default.year:04d}-{default.month:02d}"
    error = None
    current = f"{default.year:04d}-{default.month:02d}"
    try:
        parse_month(chosen)
        if chosen > current:
            error = f"{chosen} has not begun: pick {current} or an earlier month"
    except InvalidPeriod as invalid:
        error = str(invalid)
    if error:
        chosen = current
    context = {"page": "reports", "month": chosen, "month_error": error}
    return answer_page(
        request, viewer, "reports.html.j2", context, status_code=400 if error else 200
    )
