"""What every console page shares: the desk it is bound to, who is looking (in which language
and zone), reading a form, and answering with a page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Annotated, Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from fastapi import Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

import access.api
import availability.api
import incident.api
import ledger.api
import oncall.api
from access.audit import Caller
from access.guard import AUTHENTICATOR, caller_of
from access.models import Account, LoginSession
from access.roles import Role
from availability.planning import AvailabilityDesk
from console.i18n import negotiate
from console.pages import render
from core.binding import StateSlot
from core.errors import ApiError, refusal
from incident.actions import IncidentDesk
from ledger.desk import LedgerDesk
from oncall.service import OncallDesk

__all__ = [
    "ConsoleDesk",
    "Desk",
    "Language",
    "Looking",
    "Text",
    "Viewer",
    "answer_page",
    "form_fields",
    "form_values",
    "refused",
    "typed_instant",
]

LANGUAGE_COOKIE = "slakeeper_lang"
# The domains' errors, as the API answers them: a page shows the same status and reason.
_ERROR_TABLES = (
    access.api.ERRORS,
    incident.api.ERRORS,
    availability.api.ERRORS,
    oncall.api.ERRORS,
    ledger.api.ERRORS,
)
# A form's body is small: a title, a note, a reason.
MAX_FORM_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class ConsoleDesk:
    """What the console is bound to: the domains' desks (the same the API uses), the default
    zone of dates, and where Grafana is (for a service's dashboard link)."""

    incidents: IncidentDesk
    availability: AvailabilityDesk
    oncall: OncallDesk
    months: LedgerDesk
    timezone: str
    grafana_url: str | None = None


SLOT = StateSlot[ConsoleDesk]("console_desk")
Desk = Annotated[ConsoleDesk, Depends(SLOT)]
# Query parameters of the pages are declared so that an unknown one is refused, as everywhere.
Text = Annotated[str | None, Query(max_length=200)]
Language = Annotated[str | None, Query(max_length=10)]


@dataclass(frozen=True, slots=True)
class Viewer:
    """The person looking at a page, in their language and zone; None caller: not signed in."""

    caller: Caller | None
    language: str
    zone: str
    csrf_token: str | None = None

    @property
    def role(self) -> Role | None:
        return self.caller.principal.role if self.caller else None

    def may(self, role: Role) -> bool:
        """Whether the viewer's role reaches `role` (the page shows only what they may do)."""
        return self.role is not None and self.role.rank >= role.rank

    def context(self) -> dict[str, Any]:
        principal = self.caller.principal if self.caller else None
        return {
            "person": principal.name if principal else None,
            "role": principal.role.value if principal and principal.role else None,
            "csrf_token": self.csrf_token,
            "zone": self.zone,
            "may_operate": self.may(Role.OPERATOR),
            "may_manage": self.may(Role.MANAGER),
        }


async def page_viewer(request: Request) -> Viewer:
    """Who is looking, if anyone may; the page decides what a missing one means."""
    try:
        caller: Caller | None = await caller_of(request, Role.VIEWER)
    except ApiError as refused_:
        if refused_.status != 401:
            raise
        caller = None
    desk = SLOT.of(request)
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


def answer_page(
    request: Request,
    viewer: Viewer,
    template: str,
    context: Mapping[str, Any],
    *,
    status_code: int = 200,
) -> Response:
    """The page `template` for `viewer`; a language chosen with `?lang=` is remembered."""
    page = render(
        template, {**viewer.context(), **context}, language=viewer.language, status_code=status_code
    )
    if request.query_params.get("lang") == viewer.language:
        page.set_cookie(LANGUAGE_COOKIE, viewer.language, max_age=365 * 86400, samesite="lax")
    return page


async def form_fields(request: Request) -> dict[str, str]:
    """A form's fields (`application/x-www-form-urlencoded`), each's first value, trimmed;
    an empty field is left out, as if not sent."""
    fields = await _form(request)
    return {
        name: values[0].strip()
        for name, values in fields.items()
        if name != "csrf_token" and values and values[0].strip()
    }


async def form_values(request: Request, name: str) -> list[str]:
    """Every value of the form's field `name` (the boxes ticked of a list), trimmed, the
    empty ones left out."""
    values = (await _form(request)).get(name, [])
    return [value.strip() for value in values if value.strip()]


async def _form(request: Request) -> dict[str, list[str]]:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise ApiError(413, "payload_too_large", f"a form is at most {MAX_FORM_BYTES} bytes")
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=False)


def typed_instant(fields: Mapping[str, str], name: str, zone: str | tzinfo) -> datetime | None:
    """The form's field `name` (an `<input type=datetime-local>`) as an instant: typed in
    `zone` unless it carries an offset; None when empty; 422 when it is no date and time."""
    if name not in fields:
        return None
    try:
        typed = datetime.fromisoformat(fields[name])
    except ValueError:
        raise ApiError(
            422, "invalid_payload", f"{name}: not a date and time: {fields[name]!r}"
        ) from None
    if typed.tzinfo is not None:
        return typed
    return typed.replace(tzinfo=ZoneInfo(zone) if isinstance(zone, str) else zone)


def refused(error: Exception) -> ApiError:
    """What the API would answer `error` with, for the page to show; re-raised if unexpected."""
    answer = refusal(error, _ERROR_TABLES)
    if answer is None:
        raise error
    return answer
