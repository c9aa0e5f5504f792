"""`/api/v1/users` (admin; each person reads and edits their own) and `/api/v1/tokens`
(each person their own; admin everyone's). Every change is an audit event."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from access import own_tokens
from access.accounts import (
    FIELDS,
    LANGUAGES,
    SELF_FIELDS,
    InvalidAccount,
    NewAccount,
    account_fields,
    create_account,
    list_accounts,
    update_account,
)
from access.audit import record
from access.credentials import verify_password
from access.guard import AUTHENTICATOR, Admin, Viewer
from access.models import Account
from access.own_tokens import account_named, own_or_admin
from access.resources import (
    AccountPage,
    AccountResource,
    NewTokenResource,
    TokenPage,
    TokenResource,
)
from access.roles import Kind, Role
from core.bounds import MAX_ROW_ID, Instant, StorableText
from core.database import writing_session
from core.errors import ApiError, error_responses
from core.responses import JSONBody

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["access"])
Username = Annotated[str, Path(min_length=1, max_length=100)]
Text = Annotated[StorableText, Field(max_length=500)]
# Ids in chat tools, to mention the person in a group: {"feishu": "ou_…", "slack": "U…"}.
ChatIds = Annotated[
    dict[
        Literal["dingtalk", "wecom", "feishu", "slack"],
        Annotated[StorableText, Field(min_length=1, max_length=200)],
    ],
    Field(description="ids in chat tools, to mention the person in a robot's message"),
]
Language = Annotated[str, Field(pattern="^(" + "|".join(LANGUAGES) + ")$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewUserBody(_Body):
    username: Annotated[str, Field(min_length=1, max_length=100)]
    kind: Kind = Field(default=Kind.PERSON, description="person or service")
    role: Role | None = None
    display_name: Text = ""
    email: Text | None = None
    phone: Text | None = None
    chat_ids: ChatIds | None = None
    timezone: Annotated[str, Field(max_length=100)] | None = None
    language: Language = "en"
    may_ingest: bool = False
    may_act_for: bool = False
    password: Annotated[str, Field(min_length=1, max_length=1000)] | None = None


class UserChangeBody(_Body):
    display_name: Text | None = None
    email: Text | None = None
    phone: Text | None = None
    chat_ids: ChatIds | None = None
    timezone: Annotated[str, Field(max_length=100)] | None = None
    language: Language | None = None
    role: Role | None = None
    may_ingest: bool | None = None
    may_act_for: bool | None = None
    active: bool | None = None
    password: Annotated[str, Field(min_length=1, max_length=1000)] | None = None
    current_password: Annotated[str, Field(max_length=1000)] | None = Field(
        default=None, description="your own password, to change it"
    )


class NewTokenBody(_Body):
    name: Annotated[StorableText, Field(min_length=1, max_length=200)]
    scope: Annotated[str, Field(pattern="^(viewer|operator|manager|admin|ingest)$")] | None = None
    expires_at: Instant | None = None
    user: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(
        default=None, description="whose token (admin only; default: yours)"
    )


def _now(request: Request) -> datetime:
    return AUTHENTICATOR.of(request).clock()


def _changed(request: Request) -> None:
    AUTHENTICATOR.of(request).forget()


@router.get(
    "/users",
    summary="People and service accounts",
    response_model=AccountPage,
    responses=error_responses(400, 401, 403, 503),
)
def users(
    caller: Admin,
    request: Request,
    kind: Kind | None = None,
    active: bool | None = None,
) -> Response:
    with AUTHENTICATOR.of(request).sessions() as session:
        items = [account_fields(a) for a in list_accounts(session, kind=kind, active=active)]
    return JSONBody({"items": items, "next_cursor": None})


@router.post(
    "/users",
    status_code=201,
    summary="Add a person or a service account",
    response_model=AccountResource,
    responses=error_responses(400, 401, 403, 409, 422, 503),
)
def add_user(caller: Admin, body: NewUserBody, request: Request) -> Response:
    now = _now(request)
    new = NewAccount(**body.model_dump())
    with writing_session(AUTHENTICATOR.of(request).engine) as session:
        account = create_account(session, new, by=caller.principal.name, now=now)
        fields = account_fields(account)
        record(session, caller, action="user.create", at=now, target=_target(account), after=fields)
    _changed(request)
    answer = JSONBody(fields, status_code=201)
    answer.headers["Location"] = f"/api/v1/users/{account.username}"
    return answer


@router.get(
    "/users/{username}",
    summary="One account (admin, or your own)",
    response_model=AccountResource,
    responses=error_responses(400, 401, 403, 404, 503),
)
def user(caller: Viewer, username: Username, request: Request) -> Response:
    own_or_admin(caller, username)
    with AUTHENTICATOR.of(request).sessions() as session:
        return JSONBody(account_fields(account_named(session, username)))


@router.patch(
    "/users/{username}",
    summary="Change an account (admin; a person may change their own details and password)",
    response_model=AccountResource,
    responses=error_responses(400, 401, 403, 404, 422, 503),
)
def change_user(
    caller: Viewer, username: Username, body: UserChangeBody, request: Request
) -> Response:
    admin = own_or_admin(caller, username)
    changes = body.model_dump(exclude_none=True, exclude={"password", "current_password"})
    allowed = FIELDS if admin else SELF_FIELDS
    refused = sorted(set(changes) - set(allowed))
    if refused:
        raise ApiError(403, "forbidden", f"only an admin may change {', '.join(refused)}")
    now = _now(request)
    with writing_session(AUTHENTICATOR.of(request).engine) as session:
        account = account_named(session, username)
        if (
            body.password is not None
            and not admin
            and not verify_password(account.password_hash, body.current_password or "")
        ):
            raise InvalidAccount("current_password", "your current password does not match")
        before, after = update_account(session, account, changes, now=now, password=body.password)
        record(
            session,
            caller,
            action="user.update",
            at=now,
            target=_target(account),
            before=before,
            after=after,
        )
    _changed(request)
    return JSONBody({key: value for key, value in after.items() if key != "password"})


def _target(account: Account) -> str:
    return f"user:{account.username}"


@router.get(
    "/tokens",
    summary="Tokens: your own, or (admin) everyone's",
    response_model=TokenPage,
    responses=error_responses(400, 401, 403, 404, 503),
)
def tokens(
    caller: Viewer,
    request: Request,
    user_name: Annotated[str | None, Query(alias="user", max_length=100)] = None,
) -> Response:
    items = own_tokens.tokens(AUTHENTICATOR.of(request), caller, user_name)
    return JSONBody({"items": items, "next_cursor": None})


@router.post(
    "/tokens",
    status_code=201,
    summary="Issue a token: its text is in this answer and nowhere else",
    response_model=NewTokenResource,
    responses=error_responses(400, 401, 403, 404, 422, 503),
)
def new_token(caller: Viewer, body: NewTokenBody, request: Request) -> Response:
    fields = own_tokens.issue(
        AUTHENTICATOR.of(request), caller, body.name, body.scope, body.expires_at, body.user
    )
    answer = JSONBody(fields, status_code=201)
    answer.headers["Cache-Control"] = "no-store"
    return answer


@router.delete(
    "/tokens/{token_id}",
    summary="Revoke a token (your own, or as admin any)",
    response_model=TokenResource,
    responses=error_responses(400, 401, 403, 404, 503),
)
def revoke(
    caller: Viewer,
    token_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)],
    request: Request,
) -> Response:
    return JSONBody(own_tokens.revoke(AUTHENTICATOR.of(request), caller, token_id))
