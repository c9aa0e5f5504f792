"""Tables of people and tools: accounts, their tokens, console sessions, the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, BigId, JsonLabels, UTCDateTime

__all__ = ["Account", "ApiToken", "AuditEvent", "LoginSession"]


class Account(Base):
    """A person (`kind` person) or a tool (`kind` service).

    `role` is null for a tool that only pushes alerts (`may_ingest`). Only a service account
    may ingest or act on behalf of people (`may_act_for`: it relays a person's action and both
    are recorded). Disabling keeps the row: the timeline still names the person.
    """

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    display_name: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    # Ids in chat tools, to mention the person in a group: {"feishu": "ou_…", "slack": "U…"}.
    chat_ids: Mapped[dict[str, str] | None] = mapped_column(JsonLabels)
    timezone: Mapped[str | None] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(10), default="en")
    role: Mapped[str | None] = mapped_column(String(20))
    may_ingest: Mapped[bool] = mapped_column(Boolean, default=False)
    may_act_for: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """A personal or service-account token: only its SHA-256 is kept.

    `lookup` is the token's public part (it finds the row; the hash is then compared in
    constant time). `scope` is a role or `ingest`; a person's token never grants more than
    the person's current role.
    """

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_account", "account_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"))
    name: Mapped[str] = mapped_column(Text)
    lookup: Mapped[str] = mapped_column(String(12), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(Text)


class LoginSession(Base):
    """A web console session: the cookie's SHA-256, its CSRF token, and when it ends (idle
    or at the latest `expires_at`). Shared by every replica through the database."""

    __tablename__ = "login_sessions"
    __table_args__ = (Index("ix_login_sessions_account", "account_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    address: Mapped[str | None] = mapped_column(Text)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    """One change of state, or a login: who (`actor`, `via`), when, from where, what
    (`action` on `target`), and the values before and after."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_at", "at"),
        Index("ix_audit_events_actor", "actor"),
        Index("ix_audit_events_action", "action"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(Text)
    actor_kind: Mapped[str] = mapped_column(String(20))
    via: Mapped[str | None] = mapped_column(Text)
    method: Mapped[str] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(20), default="ok")
    before: Mapped[dict[str, Any] | None] = mapped_column(JsonLabels)
    after: Mapped[dict[str, Any] | None] = mapped_column(JsonLabels)
