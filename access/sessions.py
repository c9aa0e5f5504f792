"""Web console sessions: a password login starts one, the cookie finds it, idleness or its
age ends it; logging out ends it at once on every replica (they share the table)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from access.accounts import find_account, principal_of
from access.credentials import digest, new_secret, verify_password
from access.models import Account, LoginSession
from access.roles import Kind, Principal

__all__ = [
    "Lifetimes",
    "OpenSession",
    "Started",
    "end_session",
    "find_session",
    "log_in",
    "touch_session",
]

# How stale `last_seen_at` may grow before a request writes it again.
SEEN_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Lifetimes:
    """A session ends after `idle` without a request, and at the latest `longest` after it
    started."""

    idle: timedelta
    longest: timedelta


@dataclass(frozen=True, slots=True)
class Started:
    """A new session: the cookie's value (not kept) and its CSRF token."""

    account: Account
    cookie: str
    csrf_token: str
    expires_at: datetime


def log_in(
    session: Session,
    username: str,
    password: str,
    *,
    address: str | None,
    lifetimes: Lifetimes,
    now: datetime,
) -> Started | None:
    """A session for a person whose password matches, or None (unknown, disabled, wrong)."""
    account = find_account(session, username)
    usable = account is not None and account.active and account.kind == Kind.PERSON.value
    stored = account.password_hash if usable and account is not None else None
    if not verify_password(stored, password) or account is None:
        return None
    cookie, csrf_token = new_secret(), new_secret()
    expires_at = now + lifetimes.longest
    session.add(
        LoginSession(
            account_id=account.id,
            secret_hash=digest(cookie),
            csrf_token=csrf_token,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
            address=address,
        )
    )
    session.flush()
    return Started(account, cookie, csrf_token, expires_at)


@dataclass(frozen=True, slots=True)
class OpenSession:
    """A session that has not ended; `stale_seen`: its `last_seen_at` is due to be written."""

    principal: Principal
    csrf_token: str
    stale_seen: bool = False


def find_session(
    session: Session, cookie: str, *, lifetimes: Lifetimes, now: datetime
) -> OpenSession | None:
    """The session a cookie belongs to, if it has not ended (reads only: `touch_session`)."""
    found = session.execute(
        select(LoginSession, Account)
        .join(Account, Account.id == LoginSession.account_id)
        .where(LoginSession.secret_hash == digest(cookie))
    ).first()
    if found is None:
        return None
    login, account = found
    if login.ended_at is not None or not account.active:
        return None
    if now >= login.expires_at or now - login.last_seen_at >= lifetimes.idle:
        return None
    principal = principal_of(account, method="session", session_id=login.id)
    return OpenSession(principal, login.csrf_token, now - login.last_seen_at >= SEEN_PRECISION)


def touch_session(session: Session, session_id: int, *, now: datetime) -> None:
    """Note that a session was seen at `now`: its idle time starts again."""
    session.execute(
        update(LoginSession).where(LoginSession.id == session_id).values(last_seen_at=now)
    )


def end_session(session: Session, session_id: int, *, now: datetime) -> None:
    session.execute(
        update(LoginSession)
        .where(LoginSession.id == session_id, LoginSession.ended_at.is_(None))
        .values(ended_at=now)
    )
