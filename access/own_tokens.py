"""Tokens as a person manages them (their own; an admin anyone's), each change an audit event:
the API's `/api/v1/tokens` and the console's token page both call these."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from access.accounts import AccountNotFound, InvalidAccount, find_account
from access.audit import Caller, record
from access.authentication import Authenticator
from access.models import Account, ApiToken
from access.roles import Role, allows
from access.tokens import TokenNotFound, issue_token, list_tokens, revoke_token, token_fields
from core.database import writing_session
from core.errors import ApiError

__all__ = ["account_named", "issue", "own_or_admin", "revoke", "tokens"]


def own_or_admin(caller: Caller, username: str) -> bool:
    """Whether the caller is an admin; 403 if it is neither that nor `username`."""
    if allows(caller.principal, Role.ADMIN):
        return True
    if caller.principal.account_id is not None and caller.principal.name == username:
        return False
    raise ApiError(403, "forbidden", "only an admin may see or change another account")


def account_named(session: Session, username: str) -> Account:
    account = find_account(session, username)
    if account is None:
        raise AccountNotFound(username)
    return account


def _own_account_id(caller: Caller) -> int:
    if caller.principal.account_id is None:
        raise InvalidAccount(
            "user", f"{caller.principal.name!r} has no account: name the account (`user`)"
        )
    return caller.principal.account_id


def tokens(
    authenticator: Authenticator, caller: Caller, user: str | None = None, *, everyone: bool = True
) -> list[dict[str, Any]]:
    """The tokens of `user`, else the caller's own (an admin's: everyone's, if `everyone`)."""
    now = authenticator.clock()
    with authenticator.sessions() as session:
        if user is not None:
            own_or_admin(caller, user)
            owner: int | None = account_named(session, user).id
        elif everyone and allows(caller.principal, Role.ADMIN):
            owner = None
        else:
            owner = _own_account_id(caller)
        return [
            token_fields(t, name, now=now) for t, name in list_tokens(session, account_id=owner)
        ]


def issue(
    authenticator: Authenticator,
    caller: Caller,
    name: str,
    scope: str | None = None,
    expires_at: datetime | None = None,
    user: str | None = None,
) -> dict[str, Any]:
    """A new token of `user` (default: the caller); its text is in the answer and nowhere else."""
    now = authenticator.clock()
    with writing_session(authenticator.engine) as session:
        if user is not None:
            own_or_admin(caller, user)
        else:
            _own_account_id(caller)
        account = account_named(session, user or caller.principal.name)
        token, text = issue_token(
            session,
            account,
            name=name,
            scope=scope,
            expires_at=expires_at,
            by=caller.principal.name,
            now=now,
        )
        fields = token_fields(token, account.username, now=now)
        record(
            session, caller, action="token.create", at=now, target=f"token:{token.id}", after=fields
        )
    return {**fields, "token": text}


def revoke(authenticator: Authenticator, caller: Caller, token_id: int) -> dict[str, Any]:
    """Revoke a token (the caller's own, or as admin any); its fields after."""
    now = authenticator.clock()
    with writing_session(authenticator.engine) as session:
        token = session.get(ApiToken, token_id)
        if token is None:
            raise TokenNotFound(token_id)
        if token.account_id != caller.principal.account_id and not allows(
            caller.principal, Role.ADMIN
        ):
            raise ApiError(403, "forbidden", "only an admin may revoke another account's token")
        before = _token_view(session, token, now)
        revoke_token(session, token_id, by=caller.principal.name, now=now)
        after = _token_view(session, token, now)
        record(
            session,
            caller,
            action="token.revoke",
            at=now,
            target=f"token:{token_id}",
            before=before,
            after=after,
        )
    authenticator.forget()
    return after


def _token_view(session: Session, token: ApiToken, now: datetime) -> dict[str, Any]:
    owner = session.get(Account, token.account_id)
    return token_fields(token, owner.username if owner else "?", now=now)
