"""alerts, deliveries and event counters

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("starts_at", _TIME, nullable=False),
        sa.Column("ends_at", _TIME, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("labels", _JSON, nullable=False),
        sa.Column("annotations", _JSON, nullable=False),
        sa.Column("generator_url", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("receive_count", sa.Integer(), nullable=False),
        sa.Column("first_received_at", _TIME, nullable=False),
        sa.Column("last_received_at", _TIME, nullable=False),
        sa.Column("service", sa.String(length=200), nullable=True),
        sa.Column("level", sa.String(length=64), nullable=True),
        sa.Column("priority", sa.String(length=8), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("impact", sa.String(length=16), nullable=True),
        sa.Column("group_key", sa.Text(), nullable=True),
        sa.Column("incident_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint(
            "fingerprint", "starts_at", name=op.f("uq_alerts_fingerprint_starts_at")
        ),
    )
    op.create_index(
        "ix_alerts_firing",
        "alerts",
        ["fingerprint"],
        postgresql_where=sa.text("status = 'firing'"),
        sqlite_where=sa.text("status = 'firing'"),
    )
    op.create_index("ix_alerts_service", "alerts", ["service"])
    op.create_table(
        "deliveries",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("received_at", _TIME, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("receiver", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("group_key", sa.Text(), nullable=True),
        sa.Column("external_url", sa.Text(), nullable=True),
        sa.Column("alert_count", sa.Integer(), nullable=False),
        sa.Column("truncated_alerts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
    )
    op.create_index(op.f("ix_deliveries_received_at"), "deliveries", ["received_at"])
    op.create_table(
        "event_counters",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("labels", sa.String(length=1000), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", "labels", "shard", name=op.f("pk_event_counters")),
    )


def downgrade() -> None:
    op.drop_table("event_counters")
    op.drop_index(op.f("ix_deliveries_received_at"), table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_index("ix_alerts_service", table_name="alerts")
    op.drop_index("ix_alerts_firing", table_name="alerts")
    op.drop_table("alerts")
