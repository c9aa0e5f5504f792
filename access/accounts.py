"""People and service accounts: created, changed, disabled (the row is kept), listed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from access.credentials import hash_password
from access.models import Account
from access.roles import Kind, Principal, Role
from core.wire import rfc3339

__all__ = [
    "LANGUAGES",
    "AccountExists",
    "AccountNotFound",
    "InvalidAccount",
    "NewAccount",
    "account_fields",
    "create_account",
    "find_account",
    "list_accounts",
    "principal_of",
    "update_account",
]

LANGUAGES = ("en", "zh-CN")
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")
MIN_PASSWORD_LENGTH = 12
# The fields an admin may change; a person may change their own of `SELF_FIELDS`.
FIELDS = (
    "display_name",
    "email",
    "phone",
    "chat_ids",
    "timezone",
    "language",
    "role",
    "may_ingest",
    "may_act_for",
    "active",
)
SELF_FIELDS = ("display_name", "email", "phone", "chat_ids", "timezone", "language")


class AccountNotFound(LookupError):
    def __init__(self, username: str) -> None:
        super().__init__(f"no account named {username!r}")
        self.username = username


class AccountExists(ValueError):
    def __init__(self, username: str) -> None:
        super().__init__(f"an account named {username!r} exists already")
        self.username = username


class InvalidAccount(ValueError):
    """A value an account cannot have; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class NewAccount:
    username: str
    kind: Kind
    role: Role | None
    display_name: str = ""
    email: str | None = None
    phone: str | None = None
    chat_ids: dict[str, str] | None = None
    timezone: str | None = None
    language: str = "en"
    may_ingest: bool = False
    may_act_for: bool = False
    password: str | None = field(default=None, repr=False)


def create_account(session: Session, new: NewAccount, *, by: str, now: datetime) -> Account:
    """Add an account; AccountExists or InvalidAccount leave nothing written."""
    if not USERNAME.fullmatch(new.username):
        raise InvalidAccount(
            "username", "a username is 1-100 letters, digits, '.', '_', '@' or '-'"
        )
    values = {name: getattr(new, name) for name in FIELDS if name != "active"}
    values["role"] = new.role.value if new.role else None
    _check(new.kind, values)
    if find_account(session, new.username) is not None:
        raise AccountExists(new.username)
    account = Account(
        username=new.username,
        kind=new.kind.value,
        active=True,
        created_at=now,
        created_by=by,
        updated_at=now,
        password_hash=_password_hash(new.kind, new.password),
        **values,
    )
    session.add(account)
    session.flush()
    return account


def update_account(
    session: Session,
    account: Account,
    changes: dict[str, Any],
    *,
    now: datetime,
    password: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Apply `changes` (fields of `FIELDS`) and a new password; the fields before and after."""
    before = account_fields(account)
    values = {name: getattr(account, name) for name in FIELDS} | changes
    if isinstance(values.get("role"), Role):
        values["role"] = values["role"].value
    _check(Kind(account.kind), values)
    for name in changes:
        setattr(account, name, values[name])
    if password is not None:
        account.password_hash = _password_hash(Kind(account.kind), password)
    account.updated_at = now
    session.flush()
    after = account_fields(account)
    if password is not None:
        before["password"], after["password"] = "(unchanged)", "(changed)"
    return before, after


def _check(kind: Kind, values: dict[str, Any]) -> None:
    if kind is Kind.PERSON and (values.get("may_ingest") or values.get("may_act_for")):
        raise InvalidAccount(
            "may_ingest", "only a service account may push alerts or act on behalf of people"
        )
    if kind is Kind.PERSON and values.get("role") is None:
        raise InvalidAccount("role", "a person has a role: viewer, operator, manager or admin")
    if kind is Kind.SERVICE and values.get("role") is None and not values.get("may_ingest"):
        raise InvalidAccount("role", "a service account has a role, may push alerts, or both")
    if values.get("language") not in LANGUAGES:
        raise InvalidAccount("language", f"language is one of {', '.join(LANGUAGES)}")
    zone = values.get("timezone")
    if zone is not None:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidAccount("timezone", f"unknown time zone {zone!r}") from None


def _password_hash(kind: Kind, password: str | None) -> str | None:
    if password is None:
        return None
    if kind is not Kind.PERSON:
        raise InvalidAccount("password", "a service account signs in with tokens, not a password")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidAccount(
            "password", f"a password has at least {MIN_PASSWORD_LENGTH} characters"
        )
    return hash_password(password)


def find_account(session: Session, username: str) -> Account | None:
    return session.scalars(select(Account).where(Account.username == username)).first()


def list_accounts(
    session: Session, *, kind: Kind | None = None, active: bool | None = None
) -> list[Account]:
    statement = select(Account).order_by(Account.username)
    if kind is not None:
        statement = statement.where(Account.kind == kind.value)
    if active is not None:
        statement = statement.where(Account.active == active)
    return list(session.scalars(statement))


def principal_of(
    account: Account, *, method: str, role: Role | None = None, **ids: Any
) -> Principal:
    """The principal an account authenticates as; `role` narrows its own (a token's scope)."""
    own = Role(account.role) if account.role else None
    return Principal(
        name=account.username,
        kind=Kind(account.kind),
        role=own if role is None else role,
        method=method,
        may_ingest=account.may_ingest,
        may_act_for=account.may_act_for,
        account_id=account.id,
        **ids,
    )


def account_fields(account: Account) -> dict[str, Any]:
    """An account as the API shows it: never its password hash."""
    return {
        "username": account.username,
        "kind": account.kind,
        "display_name": account.display_name,
        "email": account.email,
        "phone": account.phone,
        "chat_ids": dict(account.chat_ids or {}),
        "timezone": account.timezone,
        "language": account.language,
        "role": account.role,
        "may_ingest": account.may_ingest,
        "may_act_for": account.may_act_for,
        "active": account.active,
        "has_password": account.password_hash is not None,
        "created_at": rfc3339(account.created_at),
        "created_by": account.created_by,
        "updated_at": rfc3339(account.updated_at),
    }
