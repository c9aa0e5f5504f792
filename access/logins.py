"""Signing in with a password, for the API and the console alike: failed attempts are audited
and, past a limit, held off; a success starts a session and sets its cookie."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request, Response
from sqlalchemy import func, select

from access.audit import Caller, record
from access.authentication import COOKIE, Authenticator
from access.models import AuditEvent
from access.roles import Kind, Principal
from access.sessions import Started, log_in
from core.database import writing_session
from core.errors import ApiError

__all__ = ["LOGIN_ATTEMPTS", "LOGIN_WINDOW", "set_session_cookie", "sign_in"]

# Failed logins of one username within the window, beyond which logins wait (429).
LOGIN_ATTEMPTS = 10
LOGIN_WINDOW = timedelta(minutes=15)


def sign_in(
    authenticator: Authenticator, username: str, password: str, address: str | None
) -> Started:
    """A new session for `username`; ApiError 401 (wrong) or 429 (too many failures).
    Every attempt is an audit event."""
    now = authenticator.clock()
    lifetimes = authenticator.config.lifetimes
    principal = Principal(name=username, kind=Kind.PERSON, role=None, method="password")
    someone = Caller(principal, address)
    with writing_session(authenticator.engine) as session:
        failures = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == "login",
                AuditEvent.actor == username,
                AuditEvent.outcome == "refused",
                AuditEvent.at > now - LOGIN_WINDOW,
            )
        )
        if (failures or 0) >= LOGIN_ATTEMPTS:
            raise ApiError(
                429,
                "too_many_attempts",
                f"{LOGIN_ATTEMPTS} failed logins for {username!r} in "
                f"{int(LOGIN_WINDOW.total_seconds() // 60)} minutes: wait, then try again",
                headers={"Retry-After": str(int(LOGIN_WINDOW.total_seconds()))},
            )
        started = log_in(session, username, password, address=address, lifetimes=lifetimes, now=now)
        outcome = "ok" if started is not None else "refused"
        target = f"user:{username}"
        record(session, someone, action="login", at=now, target=target, outcome=outcome)
    if started is None:
        raise ApiError(401, "unauthorized", "unknown user, disabled account or wrong password")
    return started


def set_session_cookie(
    answer: Response, authenticator: Authenticator, request: Request, started: Started
) -> None:
    """Set the session's cookie: HttpOnly, SameSite=Lax, Secure over TLS."""
    answer.set_cookie(
        COOKIE,
        started.cookie,
        max_age=int(authenticator.config.lifetimes.longest.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=_secure(authenticator, request),
        path="/",
    )


def _secure(authenticator: Authenticator, request: Request) -> bool:
    if authenticator.config.cookie_secure is not None:
        return authenticator.config.cookie_secure
    peer = request.client.host if request.client else None
    if authenticator.config.proxies.trusts(peer):
        forwarded = request.headers.get("x-forwarded-proto")
        if forwarded:
            return forwarded.split(",")[0].strip() == "https"
    return request.url.scheme == "https"
