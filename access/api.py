"""`/api/v1/me`, console login and logout, and `/api/v1/audit`.

People and tokens are served by `access.admin_api`. Errors are answered by `ERRORS`: 403 a
body naming someone else as its actor, 404 an unknown account or token, 409 a username taken,
422 a value an account or token cannot have.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from access import admin_api
from access.accounts import (
    AccountExists,
    AccountNotFound,
    InvalidAccount,
    account_fields,
)
from access.audit import AuditQuery, audit_fields, audit_page, record
from access.authentication import COOKIE, Authenticator
from access.guard import AUTHENTICATOR, Manager, Viewer, allowed
from access.logins import set_session_cookie, sign_in
from access.models import Account, LoginSession
from access.resources import AuditPage, LoginResource, MeResource
from access.roles import ActingRefused
from access.sessions import end_session
from access.tokens import TokenNotFound
from core.bounds import Instant, StorableText
from core.database import writing_session
from core.errors import ErrorStatus, ErrorTable, error_responses
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

_CURSOR_KIND = "u"


def install(app: FastAPI, authenticator: Authenticator) -> None:
    """Authenticate every request of `app` with `authenticator`; serve the access routes."""
    AUTHENTICATOR.put(app, authenticator)
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
    started = await run_in_threadpool(sign_in, authenticator, body.username, body.password, address)
    answer = JSONBody(
        {
            "account": account_fields(started.account),
            "csrf_token": started.csrf_token,
            "expires_at": rfc3339(started.expires_at),
        }
    )
    set_session_cookie(answer, authenticator, request, started)
    return answer


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
