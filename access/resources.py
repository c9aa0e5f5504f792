"""What the access routes answer: the caller, accounts, tokens, audit events.

The models document the bodies in `/openapi.json`; routes render the dicts of
`account_fields`, `token_fields` and `audit_fields` with orjson.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

__all__ = [
    "AccountPage",
    "AccountResource",
    "AuditPage",
    "LoginResource",
    "MeResource",
    "NewTokenResource",
    "TokenPage",
    "TokenResource",
]


class AccountResource(BaseModel):
    """A person or a service account; never its password."""

    username: str
    kind: str
    display_name: str
    email: str | None
    phone: str | None
    chat_ids: dict[str, str]
    timezone: str | None
    language: str
    role: str | None
    may_ingest: bool
    may_act_for: bool
    active: bool
    has_password: bool
    created_at: datetime
    created_by: str
    updated_at: datetime


class AccountPage(BaseModel):
    items: list[AccountResource]
    next_cursor: str | None


class MeResource(BaseModel):
    """The caller: how it authenticated, its role, its account (null for a configured token
    or the implicit local admin), and the CSRF token of a console session."""

    name: str
    kind: str
    role: str | None
    method: str
    may_ingest: bool
    may_act_for: bool
    account: AccountResource | None
    csrf_token: str | None


class LoginResource(BaseModel):
    """A new console session; its cookie is set on the answer."""

    account: AccountResource
    csrf_token: str
    expires_at: datetime


class TokenResource(BaseModel):
    """A token as listed: its prefix, never its text."""

    id: int
    user: str
    name: str
    scope: str
    prefix: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    active: bool


class NewTokenResource(TokenResource):
    """A token just issued: `token` is shown this once and kept nowhere."""

    token: str


class TokenPage(BaseModel):
    items: list[TokenResource]
    next_cursor: str | None


class AuditEventResource(BaseModel):
    id: int
    at: datetime
    actor: str
    actor_kind: str
    via: str | None
    method: str
    address: str | None
    action: str
    target: str | None
    outcome: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(BaseModel):
    items: list[AuditEventResource]
    next_cursor: str | None
