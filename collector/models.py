"""Tables of the collector: alert instances, the deliveries that reported them, and what
tells when slakeeper heard nothing: heartbeat spans and blind windows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, BigId, JsonLabels, UTCDateTime

__all__ = ["AlertInstance", "BlindWindow", "DeliveryRecord", "HeartbeatSpan"]


class AlertInstance(Base):
    """One alert instance: a label set's firing from `starts_at`, until `ends_at`."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("fingerprint", "starts_at"),
        Index(
            "ix_alerts_firing",
            "fingerprint",
            postgresql_where=text("status = 'firing'"),
            sqlite_where=text("status = 'firing'"),
        ),
        # A year of alerts stays fast to page through (migration 0013_big_tables): a service's
        # alerts and the firing ones newest first, and the windows that overlap a period.
        Index("ix_alerts_service_id", "service", "id"),
        Index(
            "ix_alerts_firing_id",
            "id",
            postgresql_where=text("status = 'firing'"),
            sqlite_where=text("status = 'firing'"),
        ),
        Index(
            "ix_alerts_impact_windows",
            "ends_at",
            postgresql_include=["starts_at", "status", "impact", "service", "incident_id"],
            postgresql_where=text("impact IN ('outage', 'degraded')"),
            sqlite_where=text("impact IN ('outage', 'degraded')"),
        ),
        # An incident's alerts, and their impacts read from the index alone.
        Index("ix_alerts_incident_id_impact", "incident_id", "impact"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))
    labels: Mapped[dict[str, Any]] = mapped_column(JsonLabels)
    annotations: Mapped[dict[str, Any]] = mapped_column(JsonLabels)
    generator_url: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(32))
    receive_count: Mapped[int] = mapped_column(Integer)
    first_received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    service: Mapped[str | None] = mapped_column(Text)
    level: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(64))
    impact: Mapped[str | None] = mapped_column(String(16))
    group_key: Mapped[str | None] = mapped_column(Text)
    incident_id: Mapped[int | None] = mapped_column(BigInteger)
    # When slakeeper stored the resolution: tells the transaction that resolved an instance
    # from one that only repeats a resolution already known.
    resolved_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Where the instance came from: the `externalURL` and `receiver` of the Alertmanager
    # webhook that first reported it (NULL for Prometheus' own pushes), and the Alertmanager
    # reconciliation found listing it. Only an instance that passed through the Alertmanager
    # being reconciled may be resolved because that Alertmanager no longer lists it.
    origin_url: Mapped[str | None] = mapped_column(Text)
    origin_receiver: Mapped[str | None] = mapped_column(Text)
    listed_by: Mapped[str | None] = mapped_column(Text)


class DeliveryRecord(Base):
    """One accepted push: who sent it, for which group, and how many alerts it lost upstream."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    source: Mapped[str] = mapped_column(String(32))
    receiver: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(16))
    group_key: Mapped[str | None] = mapped_column(Text)
    external_url: Mapped[str | None] = mapped_column(Text)
    alert_count: Mapped[int] = mapped_column(Integer)
    truncated_alerts: Mapped[int] = mapped_column(BigInteger, default=0)


class HeartbeatSpan(Base):
    """Receipts of a heartbeat from one source, from `first_at` to `last_at`, each within
    the allowed interval of the one before: the heartbeat alert as an alert source pushed
    it (`source` alertmanager, prometheus or grafana), or slakeeper's own scheduler
    (`source` slakeeper). A receipt that comes later than that opens a new span, so a
    month of heartbeats is a few rows. The gaps between spans are blind time."""

    __tablename__ = "heartbeat_spans"
    __table_args__ = (Index("ix_heartbeat_spans_source_last", "source", "last_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(32))
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BlindWindow(Base):
    """A time when alerts were lost for certain (`reason` truncated: a push said it cut
    alerts from its payload), blind for every service; pushes of one source that lose
    alerts again before the window ends extend it."""

    __tablename__ = "blind_windows"
    __table_args__ = (Index("ix_blind_windows_end", "end_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    reason: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(32))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
