"""blind time: heartbeat spans, blind windows (lost alerts), unknown-time counters

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "heartbeat_spans",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("first_at", _TIME, nullable=False),
        sa.Column("last_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_heartbeat_spans")),
    )
    op.create_index("ix_heartbeat_spans_source_last", "heartbeat_spans", ["source", "last_at"])
    op.create_table(
        "blind_windows",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("start_at", _TIME, nullable=False),
        sa.Column("end_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blind_windows")),
    )
    op.create_index("ix_blind_windows_end", "blind_windows", ["end_at"])
    op.create_table(
        "unknown_counters",
        sa.Column("service", sa.Text(), nullable=False),
        sa.Column("settled_through_us", sa.BigInteger(), nullable=False),
        sa.Column("settled_us", sa.BigInteger(), nullable=False),
        sa.Column("exported_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("service", name=op.f("pk_unknown_counters")),
    )


def downgrade() -> None:
    op.drop_table("unknown_counters")
    op.drop_index("ix_blind_windows_end", table_name="blind_windows")
    op.drop_table("blind_windows")
    op.drop_index("ix_heartbeat_spans_source_last", table_name="heartbeat_spans")
    op.drop_table("heartbeat_spans")
