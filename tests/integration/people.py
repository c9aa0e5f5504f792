"""Accounts and tokens for tests, made as an admin would: through the CLI's functions on the
test's database (no HTTP, so a test of the HTTP side starts from real rows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from access.accounts import NewAccount, create_account
from access.roles import Kind, Role
from access.tokens import issue_token
from core.database import create_database_engine, writing_session

__all__ = ["Person", "add_account", "bearer"]

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Person:
    username: str
    token: str
    token_id: int

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def add_account(
    database_url: str,
    username: str,
    role: Role | None,
    *,
    kind: Kind = Kind.PERSON,
    scope: str | None = None,
    password: str | None = PASSWORD,
    may_ingest: bool = False,
    may_act_for: bool = False,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> Person:
    """An account with one token (of `scope`, default its role); people get a password."""
    now = now or datetime.now(UTC)
    engine = create_database_engine(database_url)
    try:
        with writing_session(engine) as session:
            account = create_account(
                session,
                NewAccount(
                    username=username,
                    kind=kind,
                    role=role,
                    may_ingest=may_ingest,
                    may_act_for=may_act_for,
                    password=password if kind is Kind.PERSON else None,
                ),
                by="test",
                now=now,
            )
            token, text = issue_token(
                session,
                account,
                name=f"{username}-test",
                scope=scope,
                expires_at=expires_at,
                by="test",
                now=now,
            )
            return Person(username, text, token.id)
    finally:
        engine.dispose()
