"""API tokens of people and service accounts: issued (the text shown once), listed, revoked,
and verified against their stored hash."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from access.accounts import InvalidAccount, principal_of
from access.credentials import digest, digests_match, new_token, token_lookup
from access.models import Account, ApiToken
from access.roles import INGEST, Kind, Principal, Role, lesser
from core.wire import rfc3339

__all__ = [
    "TokenNotFound",
    "Verified",
    "issue_token",
    "list_tokens",
    "revoke_token",
    "scopes_of",
    "token_fields",
    "touch_token",
    "verify_token",
]

# How stale `last_used_at` may grow before a use writes it again.
LAST_USED_PRECISION = timedelta(minutes=1)


class TokenNotFound(LookupError):
    def __init__(self, token_id: int) -> None:
        super().__init__(f"no token {token_id}")
        self.token_id = token_id


def scopes_of(account: Account) -> list[str]:
    """What a token of `account` may be scoped to: its role and the roles below, and
    `ingest` for a service account that may push alerts."""
    scopes = [role.value for role in Role if account.role and role.rank <= Role(account.role).rank]
    if account.kind == Kind.SERVICE.value and account.may_ingest:
        scopes.append(INGEST)
    return scopes


def issue_token(
    session: Session,
    account: Account,
    *,
    name: str,
    scope: str | None,
    expires_at: datetime | None,
    by: str,
    now: datetime,
) -> tuple[ApiToken, str]:
    """A new token for `account` and its text, which is not kept; `scope` defaults to the
    account's role (or `ingest` for a tool without one)."""
    allowed = scopes_of(account)
    chosen = scope or account.role or (INGEST if INGEST in allowed else None)
    if chosen not in allowed:
        raise InvalidAccount(
            "scope",
            f"a token of {account.username!r} may have the scope "
            + (" or ".join(repr(item) for item in allowed) or "nothing: it has no role"),
        )
    if expires_at is not None and expires_at <= now:
        raise InvalidAccount("expires_at", "a token must expire in the future")
    generated = new_token()
    token = ApiToken(
        account_id=account.id,
        name=name,
        lookup=generated.lookup,
        secret_hash=generated.hash,
        scope=chosen,
        created_at=now,
        created_by=by,
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    return token, generated.text


def list_tokens(session: Session, *, account_id: int | None = None) -> list[tuple[ApiToken, str]]:
    """Tokens (of one account, or all) with their owner's username, newest first."""
    statement = (
        select(ApiToken, Account.username)
        .join(Account, Account.id == ApiToken.account_id)
        .order_by(ApiToken.id.desc())
    )
    if account_id is not None:
        statement = statement.where(ApiToken.account_id == account_id)
    return [(token, username) for token, username in session.execute(statement)]


def revoke_token(session: Session, token_id: int, *, by: str, now: datetime) -> ApiToken:
    """Revoke a token (again: no change); TokenNotFound if there is none."""
    token = session.get(ApiToken, token_id, with_for_update=True)
    if token is None:
        raise TokenNotFound(token_id)
    if token.revoked_at is None:
        token.revoked_at = now
        token.revoked_by = by
        session.flush()
    return token


@dataclass(frozen=True, slots=True)
class Verified:
    """A token found valid: who it authenticates, until when it stays so, and whether its
    `last_used_at` is due to be written again (`touch_token`)."""

    principal: Principal
    expires_at: datetime | None
    stale_use: bool = False


def verify_token(session: Session, text: str, *, now: datetime) -> Verified | None:
    """The principal of a generated token, or None if it is unknown, revoked, expired, or its
    account is disabled. Reads only: the caller writes the use apart (`touch_token`)."""
    lookup = token_lookup(text)
    if lookup is None:
        return None
    found = session.execute(
        select(ApiToken, Account)
        .join(Account, Account.id == ApiToken.account_id)
        .where(ApiToken.lookup == lookup)
    ).first()
    if found is None:
        return None
    token, account = found
    if not digests_match(token.secret_hash, digest(text)):
        return None
    if token.revoked_at is not None or not account.active:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    stale = token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION
    if token.scope == INGEST:
        principal = principal_of(account, method="token", token_id=token.id)
        principal = replace(principal, role=None, may_act_for=False)
    else:
        role = lesser(Role(token.scope), Role(account.role) if account.role else None)
        principal = principal_of(account, method="token", role=role, token_id=token.id)
        principal = replace(principal, may_ingest=False)
    return Verified(principal, token.expires_at, stale_use=stale)


def touch_token(session: Session, token_id: int, *, now: datetime) -> None:
    """Note that a token was used at `now`."""
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))


def token_fields(token: ApiToken, username: str, *, now: datetime) -> dict[str, Any]:
    """A token as the API shows it: never its text or hash."""
    expired = token.expires_at is not None and token.expires_at <= now
    return {
        "id": token.id,
        "user": username,
        "name": token.name,
        "scope": token.scope,
        "prefix": f"slk_{token.lookup}_",
        "created_at": rfc3339(token.created_at),
        "created_by": token.created_by,
        "expires_at": rfc3339(token.expires_at),
        "last_used_at": rfc3339(token.last_used_at),
        "revoked_at": rfc3339(token.revoked_at),
        "revoked_by": token.revoked_by,
        "active": token.revoked_at is None and not expired,
    }
