"""The console's pages: login and logout, and the incident queue (the home page); `install`
serves them with the incident, service, maintenance, report, token, on-call and month pages.

Pages call the same services as the API; a page needs a viewer like the API's reads, and a
browser without a session is sent to `/login` instead of being answered 401.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from access.authentication import COOKIE, cross_site
from access.guard import AUTHENTICATOR, allowed
from access.logins import set_session_cookie, sign_in
from access.sessions import end_session
from console import (
    account_pages,
    ack_pages,
    incident_pages,
    month_pages,
    oncall_pages,
    report_pages,
    service_pages,
)
from console.desk import (
    SLOT,
    ConsoleDesk,
    Desk,
    Language,
    Looking,
    Text,
    Viewer,
    answer_page,
    form_fields,
)
from console.i18n import Words
from console.queue import queue_lines, queue_rows
from core.database import writing_session
from core.errors import ApiError
from incident.queries import IncidentQuery, queue_incidents
from incident.store import ACTIVE_STATES

__all__ = ["ConsoleDesk", "install", "router"]

STATIC = Path(__file__).parent / "static"
# The most a queue page lists; beyond, it says so and lists the newest (narrow the filters).
QUEUE_LIMIT = 5_000


def install(app: FastAPI, desk: ConsoleDesk) -> None:
    """Serve the console at `/` in `app`."""
    SLOT.put(app, desk)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    for pages in (router, incident_pages.router, service_pages.router):
        app.include_router(pages)
    app.include_router(report_pages.router)
    app.include_router(account_pages.router)
    app.include_router(ack_pages.router)
    app.include_router(oncall_pages.router)
    app.include_router(month_pages.router)


router = APIRouter(include_in_schema=False)


@router.get("/login", dependencies=[Depends(allowed())])
async def login_page(request: Request, viewer: Looking, lang: Language = None) -> Response:
    return answer_page(request, viewer, "login.html.j2", {})


@router.post("/login", dependencies=[Depends(allowed())])
async def login_form(request: Request, viewer: Looking) -> Response:
    authenticator = AUTHENTICATOR.of(request)
    fields = await form_fields(request)
    username = fields.get("username", "")
    if cross_site(request, authenticator.config.proxies):
        raise ApiError(403, "csrf_failed", "a login from another site is refused")
    try:
        started = await run_in_threadpool(
            sign_in,
            authenticator,
            username,
            fields.get("password", ""),
            authenticator.address(request),
        )
    except ApiError as refused:
        context = {"error": refused.message, "username": username}
        return answer_page(request, viewer, "login.html.j2", context, status_code=refused.status)
    answer = RedirectResponse("/", status_code=303)
    set_session_cookie(answer, authenticator, request, started)
    return answer


@router.post("/logout", dependencies=[Depends(allowed())])
async def logout_form(request: Request, viewer: Looking) -> Response:
    # The session's CSRF token was checked with the session, as for every write.
    if viewer.caller is not None and viewer.caller.principal.session_id is not None:
        session_id = viewer.caller.principal.session_id
        await run_in_threadpool(_end, request, session_id)
    answer = RedirectResponse("/login", status_code=303)
    answer.delete_cookie(COOKIE, path="/")
    return answer


def _end(request: Request, session_id: int) -> None:
    authenticator = AUTHENTICATOR.of(request)
    with writing_session(authenticator.engine) as session:
        end_session(session, session_id, now=authenticator.clock())


@dataclass(frozen=True, slots=True)
class QueueFilters:
    """The queue's filters, as the page's form sends them (empty: no filter)."""

    state: str | None
    priority: str | None
    service: str | None
    breached: bool
    mine: bool

    def query(self, person: str | None) -> IncidentQuery:
        return IncidentQuery(
            states=(self.state,) if self.state else tuple(ACTIVE_STATES),
            priorities=(self.priority,) if self.priority else (),
            service=self.service,
            breached=True if self.breached else None,
            # Mine: what I acknowledged (nobody, if I am not a person).
            acknowledged_by=(person or "") if self.mine else None,
            limit=QUEUE_LIMIT + 1,
        )


Flag = Annotated[str | None, Query(max_length=5)]


def queue_filters(
    state: Text = None,
    priority: Text = None,
    service: Text = None,
    breached: Flag = None,
    mine: Flag = None,
) -> QueueFilters:
    return QueueFilters(
        state=state if state in ACTIVE_STATES else None,
        priority=priority or None,
        service=service or None,
        breached=breached in ("1", "on", "true"),
        mine=mine in ("1", "on", "true"),
    )


Filtered = Annotated[QueueFilters, Depends(queue_filters)]


@router.get("/")
async def queue_page(
    request: Request, viewer: Looking, desk: Desk, filters: Filtered, lang: Language = None
) -> Response:
    if viewer.caller is None:
        return RedirectResponse("/login", status_code=303)
    queue = await run_in_threadpool(_queue, desk, filters, viewer)
    return answer_page(request, viewer, "queue.html.j2", {**queue, "page": "queue"})


@router.get("/console/queue")
async def queue_fragment(
    request: Request, viewer: Looking, desk: Desk, filters: Filtered, lang: Language = None
) -> Response:
    if viewer.caller is None:
        return Response(status_code=401, headers={"HX-Redirect": "/login"})
    queue = await run_in_threadpool(_queue, desk, filters, viewer)
    return answer_page(request, viewer, "queue_rows.html.j2", queue)


def _queue(desk: ConsoleDesk, filters: QueueFilters, viewer: Viewer) -> dict[str, Any]:
    incidents = desk.incidents
    rules = incidents.rules.current
    person = viewer.caller.principal.name if viewer.caller else None
    with incidents.sessions() as session:
        found = queue_incidents(session, filters.query(person))
    rows = queue_rows(found[:QUEUE_LIMIT], list(rules.priorities), incidents.clock())
    return {
        "lines": queue_lines(rows, Words.of(viewer.language, viewer.zone)),
        "truncated": len(found) > QUEUE_LIMIT,
        "filters": filters,
        "priorities": list(rules.priorities),
    }
