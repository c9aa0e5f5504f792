"""The console's pages: login and logout, and the incident queue (the home page).

Pages call the same services as the API; a page needs a viewer like the API's reads, and a
browser without a session is sent to `/login` instead of being answered 401.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from access.audit import Caller
from access.authentication import COOKIE, cross_site
from access.guard import AUTHENTICATOR, allowed, caller_of
from access.logins import set_session_cookie, sign_in
from access.models import Account, LoginSession
from access.roles import Role
from access.sessions import end_session
from console.i18n import negotiate
from console.pages import render
from console.queue import queue_rows
from core.binding import StateSlot
from core.database import writing_session
from core.errors import ApiError
from incident.queries import IncidentQuery, list_incidents
from incident.store import ACTIVE_STATES
from rules.reloading import ActiveRules

__all__ = ["ConsoleDesk", "install", "router"]

LANGUAGE_COOKIE = "slakeeper_lang"
STATIC = Path(__file__).parent / "static"
QUEUE_LIMIT = 5_000


@dataclass(frozen=True, slots=True)
class ConsoleDesk:
    """What the console is bound to: the database, the rules, the clock, the default zone."""

    sessions: sessionmaker[Session]
    rules: ActiveRules
    clock: Callable[[], datetime]
    timezone: str


_SLOT = StateSlot[ConsoleDesk]("console_desk")


def install(app: FastAPI, desk: ConsoleDesk) -> None:
    """Serve the console at `/` in `app`."""
    _SLOT.put(app, desk)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    app.include_router(router)


router = APIRouter(include_in_schema=False)
# The query parameters of the pages (read from the request; declared so that an unknown one is
# refused, as everywhere): the queue's filters and the language switch.
Text = Annotated[str | None, Query(max_length=200)]
Language = Annotated[str | None, Query(max_length=10)]
Desk = Annotated[ConsoleDesk, Depends(_SLOT)]


@dataclass(frozen=True, slots=True)
class Viewer:
    """The person looking at a page, in their language and zone; None caller: not signed in."""

    caller: Caller | None
    language: str
    zone: str
    csrf_token: str | None = None

    def context(self) -> dict[str, Any]:
        principal = self.caller.principal if self.caller else None
        return {
            "person": principal.name if principal else None,
            "role": principal.role.value if principal and principal.role else None,
            "csrf_token": self.csrf_token,
            "zone": self.zone,
        }


async def page_viewer(request: Request) -> Viewer:
    """Who is looking, if anyone may; the page decides what a missing one means."""
    try:
        caller: Caller | None = await caller_of(request, Role.VIEWER)
    except ApiError as refused:
        if refused.status != 401:
            raise
        caller = None
    desk = _SLOT.of(request)
    account, csrf = await run_in_threadpool(_account_of, request, caller)
    chosen = request.query_params.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
    language = negotiate(
        chosen, account.language if account else None, request.headers.get("accept-language")
    )
    zone = (account.timezone if account else None) or desk.timezone
    return Viewer(caller, language, zone, csrf)


page_viewer.slakeeper_requires = "viewer"  # type: ignore[attr-defined]
Looking = Annotated[Viewer, Depends(page_viewer)]


def _account_of(request: Request, caller: Caller | None) -> tuple[Account | None, str | None]:
    if caller is None or caller.principal.account_id is None:
        return None, None
    with AUTHENTICATOR.of(request).sessions() as session:
        account = session.get(Account, caller.principal.account_id)
        login = (
            session.get(LoginSession, caller.principal.session_id)
            if caller.principal.session_id is not None
            else None
        )
        return account, (login.csrf_token if login is not None else None)


def _remember_language(request: Request, answer: Response, viewer: Viewer) -> Response:
    if request.query_params.get("lang") == viewer.language:
        answer.set_cookie(LANGUAGE_COOKIE, viewer.language, max_age=365 * 86400, samesite="lax")
    return answer


@router.get("/login", dependencies=[Depends(allowed())])
async def login_page(request: Request, viewer: Looking, lang: Language = None) -> Response:
    answer = render("login.html.j2", viewer.context(), language=viewer.language)
    return _remember_language(request, answer, viewer)


@router.post("/login", dependencies=[Depends(allowed())])
async def login_form(request: Request, viewer: Looking) -> Response:
    authenticator = AUTHENTICATOR.of(request)
    fields = parse_qs((await request.body()).decode("utf-8", "replace"))
    username = (fields.get("username") or [""])[0].strip()
    password = (fields.get("password") or [""])[0]
    if cross_site(request, authenticator.config.proxies):
        raise ApiError(403, "csrf_failed", "a login from another site is refused")
    try:
        started = await run_in_threadpool(
            sign_in, authenticator, username, password, authenticator.address(request)
        )
    except ApiError as refused:
        context = {**viewer.context(), "error": refused.message, "username": username}
        return render(
            "login.html.j2", context, language=viewer.language, status_code=refused.status
        )
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


def queue_filters(state: Text = None, priority: Text = None, service: Text = None) -> QueueFilters:
    return QueueFilters(
        state=state if state in ACTIVE_STATES else None,
        priority=priority or None,
        service=service or None,
    )


Filtered = Annotated[QueueFilters, Depends(queue_filters)]


@router.get("/")
async def queue_page(
    request: Request, viewer: Looking, desk: Desk, filters: Filtered, lang: Language = None
) -> Response:
    if viewer.caller is None:
        return RedirectResponse("/login", status_code=303)
    context = {
        **viewer.context(),
        **await run_in_threadpool(_queue, desk, filters),
        "page": "queue",
    }
    answer = render("queue.html.j2", context, language=viewer.language)
    return _remember_language(request, answer, viewer)


@router.get("/console/queue")
async def queue_fragment(
    viewer: Looking, desk: Desk, filters: Filtered, lang: Language = None
) -> Response:
    if viewer.caller is None:
        return Response(status_code=401, headers={"HX-Redirect": "/login"})
    context = {**viewer.context(), **await run_in_threadpool(_queue, desk, filters)}
    return render("queue_rows.html.j2", context, language=viewer.language)


def _queue(desk: ConsoleDesk, filters: QueueFilters) -> dict[str, Any]:
    rules = desk.rules.current
    query = IncidentQuery(
        states=(filters.state,) if filters.state else tuple(ACTIVE_STATES),
        priorities=(filters.priority,) if filters.priority else (),
        service=filters.service,
        limit=QUEUE_LIMIT,
    )
    with desk.sessions() as session:
        incidents, _ = list_incidents(session, query)
    now = desk.clock()
    return {
        "rows": queue_rows(incidents, list(rules.priorities), now),
        "filters": filters,
        "priorities": list(rules.priorities),
    }
