"""`/api/v1/me`, console login and logout, and `/api/v1/audit`.

People and tokens are served by `access.admin_api`. Errors are answered by `ERRORS`: 403 a
body naming someone else as its actor, 404 an unknown account or token, 409 a username taken,
422 a value an account or token cannot have.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from access.accounts import (
    AccountExists,
    AccountNotFound,
    InvalidAccount,
    account_fields,
)
from access.audit import AuditQuery, Caller, audit_fields, audit_page, record
from access.authentication import COOKIE, Authenticator
from access.guard import AUTHENTICATOR, Manager, Viewer, allowed
from access.models import Account, AuditEvent, LoginSession
from access.resources import AuditPage, LoginResource, MeResource
from access.roles import ActingRefused, Kind, Principal
from access.sessions import Started, end_session, log_in
from access.tokens import TokenNotFound
from core.bounds import Instant, StorableText
from core.database import writing_session
from core.errors import ApiError, ErrorStatus, ErrorTable, error_responses
from core.responses import JSONBody
from core.wire import decode_cursor, encode_cursor, rfc3339

__all__ = ["ERRORS", "install", "router"]

ERRORS: ErrorTable = {
    ActingRefused: ErrorStatus(
        403,
        "forbidden",
        details=lambda error: {"actor": error.claimed, "principal": error.principal},
    ),
    AccountNotFound: ErrorStatus(404, "not_found"),
    TokenNotFound: ErrorStatus(404, "not_found"),
    AccountExists: ErrorStatus(409, "exists"),
    InvalidAccount: ErrorStatus(422, "invalid_value", details=lambda error: {"field": error.field}),
}

# Failed logins of one username within the window, beyond which logins wait (429).
LOGIN_ATTEMPTS = 10
LOGIN_WINDOW = timedelta(minutes=15)
_CURSOR_KIND = "u"


def install(app: FastAPI, authenticator: Authenticator) -> None:
    """Authenticate every request of `app` with `authenticator`; serve the access routes."""
    AUTHENTICATOR.put(app, authenticator)
    from access import admin_api

    app.include_router(router)
    app.include_router(admin_api.router)


router = APIRouter(prefix="/api/v1", tags=["access"])


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Annotated[StorableText, Field(min_length=1, max_length=100)]
    password: Annotated[str, Field(min_length=1, max_length=1000, repr=False)]


@router.get(
    "/me",
    summary="Who the credential presented is",
    response_model=MeResource,
    responses=error_responses(400, 401, 403, 503),
)
def me(caller: Viewer, request: Request) -> Response:
    principal = caller.principal
    authenticator = AUTHENTICATOR.of(request)
    account = None
    csrf_token = None
    if principal.account_id is not None:
        with authenticator.sessions() as session:
            found = session.get(Account, principal.account_id)
            account = account_fields(found) if found is not None else None
            if principal.session_id is not None:
                login = session.get(LoginSession, principal.session_id)
                csrf_token = login.csrf_token if login is not None else None
    return JSONBody(
        {
            "name": principal.name,
            "kind": principal.kind.value,
            "role": principal.role.value if principal.role else None,
            "method": principal.method,
            "may_ingest": principal.may_ingest,
            "may_act_for": principal.may_act_for,
            "account": account,
            "csrf_token": csrf_token,
        }
    )


@router.post(
    "/login",
    dependencies=[Depends(allowed())],
    summary="Sign in with a password: sets the session cookie",
    response_model=LoginResource,
    responses=error_responses(400, 401, 429, 503),
)
async def login(body: LoginBody, request: Request) -> Response:
    authenticator = AUTHENTICATOR.of(request)
    address = authenticator.address(request)
    started = await run_in_threadpool(_log_in, authenticator, body, address)
    answer = JSONBody(
        {
            "account": account_fields(started.account),
            "csrf_token": started.csrf_token,
            "expires_at": rfc3339(started.expires_at),
        }
    )
    answer.set_cookie(
        COOKIE,
        started.cookie,
        max_age=int(authenticator.config.lifetimes.longest.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=_secure(authenticator, request),
        path="/",
    )
    return answer


def _log_in(authenticator: Authenticator, body: LoginBody, address: str | None) -> Started:
    now = authenticator.clock()
    lifetimes = authenticator.config.lifetimes
    someone = Caller(
        Principal(name=body.username, kind=Kind.PERSON, role=None, method="password"), address
    )
    with writing_session(authenticator.engine) as session:
        failures = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == "login",
                AuditEvent.actor == body.username,
                AuditEvent.outcome == "refused",
                AuditEvent.at > now - LOGIN_WINDOW,
            )
        )
        if (failures or 0) >= LOGIN_ATTEMPTS:
            raise ApiError(
                429,
                "too_many_attempts",
                f"{LOGIN_ATTEMPTS} failed logins for {body.username!r} in "
                f"{int(LOGIN_WINDOW.total_seconds() // 60)} minutes: wait, then try again",
                headers={"Retry-After": str(int(LOGIN_WINDOW.total_seconds()))},
            )
        started = log_in(
            session, body.username, body.password, address=address, lifetimes=lifetimes, now=now
        )
        outcome = "ok" if started is not None else "refused"
        record(
            session,
            someone,
            action="login",
            at=now,
            target=f"user:{body.username}",
            outcome=outcome,
        )
    if started is None:
        raise ApiError(401, "unauthorized", "unknown user, disabled account or wrong password")
    return started


def _secure(authenticator: Authenticator, request: Request) -> bool:
    if authenticator.config.cookie_secure is not None:
        return authenticator.config.cookie_secure
    peer = request.client.host if request.client else None
    if authenticator.config.proxies.trusts(peer):
        forwarded = request.headers.get("x-forwarded-proto")
        if forwarded:
            return forwarded.split(",")[0].strip() == "https"
    return request.url.scheme == "https"


@router.post(
    "/logout",
    status_code=204,
    summary="End the console session",
    response_class=Response,
    responses=error_responses(400, 401, 403, 503),
)
def logout(caller: Viewer, request: Request) -> Response:
    authenticator = AUTHENTICATOR.of(request)
    now = authenticator.clock()
    if caller.principal.session_id is not None:
        with writing_session(authenticator.engine) as session:
            end_session(session, caller.principal.session_id, now=now)
            record(session, caller, action="logout", at=now, target=f"user:{caller.principal.name}")
    answer = Response(status_code=204)
    answer.delete_cookie(COOKIE, path="/")
    return answer


@router.get(
    "/audit",
    summary="The audit trail, newest first",
    response_model=AuditPage,
    responses=error_responses(400, 401, 403, 503),
)
def audit(
    caller: Manager,
    request: Request,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[
        str | None, Query(max_length=100, description="an action, or its prefix: `incident`")
    ] = None,
    target: Annotated[str | None, Query(max_length=300, description="e.g. `incident:12`")] = None,
    outcome: Annotated[str | None, Query(pattern="^(ok|refused)$")] = None,
    since: Instant | None = None,
    until: Instant | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> Response:
    query = AuditQuery(
        actor=actor,
        action=action,
        target=target,
        outcome=outcome,
        since=since,
        until=until,
        before_id=decode_cursor(cursor, _CURSOR_KIND) if cursor else None,
        limit=limit,
    )
    with AUTHENTICATOR.of(request).sessions() as session:
        rows, next_before = audit_page(session, query)
        items = [audit_fields(row) for row in rows]
    next_cursor = encode_cursor(next_before, _CURSOR_KIND) if next_before else None
    return JSONBody({"items": items, "next_cursor": next_cursor})
