"""Tables of the availability domain: maintenance windows entered through the API, their
Alertmanager silences, and the persisted parts of the downtime and unknown-time counters.

The heartbeat spans and blind windows that unknown time is measured from are the
collector's (`collector.models`): ingestion, below this layer, writes them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, BigId, UTCDateTime

__all__ = ["DowntimeCounter", "MaintenanceSilence", "MaintenanceWindow", "UnknownCounter"]


class MaintenanceWindow(Base):
    """Planned downtime of a service: one-off (`start_at`, `end_at`) or recurring (`cron`,
    `duration_seconds`, in the service's time zone).

    Deleting one keeps the row (`deleted_at`, `deleted_by`): a figure someone signed can be
    traced to the windows it was computed with.
    """

    __tablename__ = "maintenance_windows"
    __table_args__ = (Index("ix_maintenance_windows_service", "service"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    service: Mapped[str] = mapped_column(Text)
    start_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cron: Mapped[str | None] = mapped_column(String(200))
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(Text)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_by: Mapped[str | None] = mapped_column(Text)


class DowntimeCounter(Base):
    """The persisted part of `slakeeper_service_downtime_seconds_total` for one service.

    Downtime up to `settled_through_us` is settled in `settled_us`; the exported value is
    that plus the downtime measured since, and never less than `exported_us`, the highest
    value any replica has exported, so the counter never goes down across restarts,
    replicas and reclassifications. Times are µs since the epoch.
    """

    __tablename__ = "downtime_counters"

    service: Mapped[str] = mapped_column(Text, primary_key=True)
    settled_through_us: Mapped[int] = mapped_column(BigInteger)
    settled_us: Mapped[int] = mapped_column(BigInteger)
    exported_us: Mapped[int] = mapped_column(BigInteger)


class UnknownCounter(Base):
    """The persisted part of `slakeeper_service_unknown_seconds_total` for one service, kept
    as `DowntimeCounter` is (settled part, checkpoint, exported high-water mark), so that
    the counter never goes down when blind time is corrected after the fact."""

    __tablename__ = "unknown_counters"

    service: Mapped[str] = mapped_column(Text, primary_key=True)
    settled_through_us: Mapped[int] = mapped_column(BigInteger)
    settled_us: Mapped[int] = mapped_column(BigInteger)
    exported_us: Mapped[int] = mapped_column(BigInteger)


class MaintenanceSilence(Base):
    """The Alertmanager silence of one maintenance occurrence.

    `occurrence` names the occurrence (`rule/<hash>/<start>` for a window of the rule file,
    `api/<id>/<start>` for a planned one); `silence_id` is Alertmanager's, once created.
    `state`: `pending` (to create or update), `active`, `expired` (its window was deleted or
    edited away), `failed` (the last attempt failed: retried at the next run).
    """

    __tablename__ = "maintenance_silences"
    __table_args__ = (Index("ix_maintenance_silences_service", "service"),)

    occurrence: Mapped[str] = mapped_column(String(200), primary_key=True)
    service: Mapped[str] = mapped_column(Text)
    window_id: Mapped[int | None] = mapped_column(BigInteger)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    matchers: Mapped[str] = mapped_column(Text)
    comment: Mapped[str] = mapped_column(Text, default="")
    silence_id: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
