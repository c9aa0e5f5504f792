"""Tables of the signed month.

A closed month of a service is a `MonthRecord`: its figures as stored (JSON, times in µs),
their SHA-256 and the rule file's, who closed it. Reopening keeps the row (`reopened_at`);
closing again writes the next `version`. Adjustments, disputes and changes since close
name the month and service; none of them edits an alert, an incident or a record's figures.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, BigId, JsonLabels, UTCDateTime

__all__ = [
    "MonthAdjustment",
    "MonthDispute",
    "MonthRecord",
    "PendingChange",
    "ReportDelivery",
    "RulePolicy",
]


class RulePolicy(Base):
    """A rule file a server loaded: its text, so a figure can be computed again with it.

    `last_loaded_at` of the newest row says which rule file the server uses now.
    """

    __tablename__ = "rule_policies"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    default_timezone: Mapped[str] = mapped_column(String(64))
    first_loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MonthRecord(Base):
    """The stored figures of one service's closed month (one version per close)."""

    __tablename__ = "month_records"
    __table_args__ = (
        UniqueConstraint("month", "service", "version"),
        Index("ix_month_records_month", "month", "service"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    month: Mapped[str] = mapped_column(String(7))
    service: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    figures: Mapped[dict[str, Any]] = mapped_column(JsonLabels)
    digest: Mapped[str] = mapped_column(String(64))
    rules_digest: Mapped[str] = mapped_column(String(64))
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_by: Mapped[str] = mapped_column(Text)
    reopened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reopened_by: Mapped[str | None] = mapped_column(Text)
    reopen_reason: Mapped[str | None] = mapped_column(Text)


class MonthAdjustment(Base):
    """A manager's change to a closed month's downtime, with its reason and effect."""

    __tablename__ = "month_adjustments"
    __table_args__ = (Index("ix_month_adjustments_month", "month", "service"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    month: Mapped[str] = mapped_column(String(7))
    service: Mapped[str] = mapped_column(Text)
    record_id: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(16))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    category: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(24))
    pending_change_id: Mapped[int | None] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    approved_by: Mapped[str | None] = mapped_column(Text)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    effect_us: Mapped[int | None] = mapped_column(BigInteger)
    effect_ratio: Mapped[float | None] = mapped_column(Float)


class MonthDispute(Base):
    """The customer's contact disputes a window of a service's month."""

    __tablename__ = "month_disputes"
    __table_args__ = (Index("ix_month_disputes_month", "month", "service"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    month: Mapped[str] = mapped_column(String(7))
    service: Mapped[str] = mapped_column(Text)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    contact: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    opened_by: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str | None] = mapped_column(Text)


class PendingChange(Base):
    """What recomputing a closed month gave that differs from its record (`figures`: the
    recomputed figures, in the record's form). One `pending` row per record at most: a newer
    difference supersedes it."""

    __tablename__ = "month_pending_changes"
    __table_args__ = (Index("ix_month_pending_changes_record", "record_id", "state"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    month: Mapped[str] = mapped_column(String(7))
    service: Mapped[str] = mapped_column(Text)
    record_id: Mapped[int] = mapped_column(BigInteger)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    figures: Mapped[dict[str, Any]] = mapped_column(JsonLabels)
    fingerprint: Mapped[str] = mapped_column(String(64))
    downtime_delta_us: Mapped[int] = mapped_column(BigInteger)
    maintenance_delta_us: Mapped[int] = mapped_column(BigInteger)
    unknown_delta_us: Mapped[int] = mapped_column(BigInteger)
    ratio_delta: Mapped[float] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReportDelivery(Base):
    """One report to send to one recipient: retried with back-off until sent.

    `key` makes a delivery happen once across replicas (month, trigger, recipient, digest).
    """

    __tablename__ = "report_deliveries"
    __table_args__ = (Index("ix_report_deliveries_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    month: Mapped[str] = mapped_column(String(7))
    recipient: Mapped[str] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(8))
    trigger: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    digest: Mapped[str | None] = mapped_column(String(64))
