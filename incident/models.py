"""Tables of the incident domain: incidents, their timeline, escalations fired, the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, BigId, JsonLabels, UTCDateTime

__all__ = ["EscalationFiring", "Incident", "IncidentEvent", "Notification", "NotificationAttempt"]

_ACTIVE = "state IN ('open', 'acknowledged')"


class Incident(Base):
    """One incident: opened by alerts of one group key, or by a person (manual)."""

    __tablename__ = "incidents"
    __table_args__ = (
        # The database itself guarantees one active incident per group, whatever the races.
        Index(
            "uq_incidents_active_group_key",
            "group_key",
            unique=True,
            postgresql_where=text(_ACTIVE),
            sqlite_where=text(_ACTIVE),
        ),
        Index("ix_incidents_group_key_resolved_at", "group_key", "resolved_at"),
        Index("ix_incidents_service_opened_at", "service", "opened_at"),
        # Pages in id order by state and by service, a month's incidents and the windows that
        # overlap a period, on a year of incidents (migration 0013_big_tables).
        Index("ix_incidents_state_id", "state", "id"),
        Index("ix_incidents_service_id", "service", "id"),
        Index(
            "ix_incidents_manual_id",
            "id",
            postgresql_where=text("source = 'manual'"),
            sqlite_where=text("source = 'manual'"),
        ),
        Index("ix_incidents_opened_at", "opened_at"),
        Index("ix_incidents_resolved_at", "resolved_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(Text)
    service: Mapped[str] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(64))
    level: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(64))
    impact: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    group_key: Mapped[str | None] = mapped_column(Text)
    # When the problem began: the first alert's startsAt, or the start a reporter gave.
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[str | None] = mapped_column(Text)
    closed_by: Mapped[str | None] = mapped_column(Text)
    reporter: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(String(32))
    response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    resolution_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    response_seconds: Mapped[float | None] = mapped_column(Float)
    resolution_seconds: Mapped[float | None] = mapped_column(Float)
    flap_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IncidentEvent(Base):
    """One entry of an incident's timeline: who changed what, when, from what to what;
    `via` the service account that relayed a person's action, if one did."""

    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(Text)
    via: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    before: Mapped[dict[str, Any] | None] = mapped_column(JsonLabels)
    after: Mapped[dict[str, Any] | None] = mapped_column(JsonLabels)
    note: Mapped[str | None] = mapped_column(Text)


class EscalationFiring(Base):
    """An escalation step that fired; the unique key makes it fire once, whoever runs it."""

    __tablename__ = "escalations"
    __table_args__ = (UniqueConstraint("incident_id", "priority", "step_index"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("incidents.id", ondelete="CASCADE")
    )
    priority: Mapped[str] = mapped_column(String(64))
    step_index: Mapped[int] = mapped_column(Integer)
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Notification(Base):
    """A message to a contact, kept until sent: the persistent outbox."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index(
            "ix_notifications_pending",
            "next_attempt_at",
            postgresql_where=text("state = 'pending'"),
            sqlite_where=text("state = 'pending'"),
        ),
        # A message waits for the earlier ones of its incident and contact: their order holds.
        Index(
            "ix_notifications_pending_stream",
            "incident_id",
            "contact",
            "id",
            postgresql_where=text("state = 'pending'"),
            sqlite_where=text("state = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # Enqueuing the same message twice (two replicas, a retried job) stores it once.
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    incident_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    contact: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonLabels)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    # The contact's channels this message was delivered on so far: a retry sends only the rest.
    channels_done: Mapped[list[str] | None] = mapped_column(JsonLabels)


class NotificationAttempt(Base):
    """One try at delivering a notification, and how it went."""

    __tablename__ = "notification_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    notification_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("notifications.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_seconds: Mapped[float] = mapped_column(Float)
    channel: Mapped[str | None] = mapped_column(String(64))  # None: the contact's webhook
    person: Mapped[str | None] = mapped_column(String(100))  # whom it was for, if a person
