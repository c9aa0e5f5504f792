"""Tables of the availability domain: maintenance windows entered through the API."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, BigId, UTCDateTime

__all__ = ["DowntimeCounter", "MaintenanceWindow"]


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
