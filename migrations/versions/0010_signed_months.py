"""the signed month: rule files loaded, closed months, adjustments, disputes, changes since
close, report deliveries

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_TIME = sa.DateTime(timezone=True)


def _month_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("service", sa.Text(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "rule_policies",
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("default_timezone", sa.String(64), nullable=False),
        sa.Column("first_loaded_at", _TIME, nullable=False),
        sa.Column("last_loaded_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_rule_policies")),
    )
    op.create_table(
        "month_records",
        *_month_columns(),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("figures", _JSON, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("rules_digest", sa.String(64), nullable=False),
        sa.Column("closed_at", _TIME, nullable=False),
        sa.Column("closed_by", sa.Text(), nullable=False),
        sa.Column("reopened_at", _TIME),
        sa.Column("reopened_by", sa.Text()),
        sa.Column("reopen_reason", sa.Text()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_month_records")),
        sa.UniqueConstraint(
            "month", "service", "version", name=op.f("uq_month_records_month_service_version")
        ),
    )
    op.create_index("ix_month_records_month", "month_records", ["month", "service"])
    op.create_table(
        "month_adjustments",
        *_month_columns(),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("start_at", _TIME, nullable=False),
        sa.Column("end_at", _TIME, nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("pending_change_id", sa.BigInteger()),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("approved_by", sa.Text()),
        sa.Column("approved_at", _TIME),
        sa.Column("effect_us", sa.BigInteger()),
        sa.Column("effect_ratio", sa.Float()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_month_adjustments")),
    )
    op.create_index("ix_month_adjustments_month", "month_adjustments", ["month", "service"])
    op.create_table(
        "month_disputes",
        *_month_columns(),
        sa.Column("start_at", _TIME, nullable=False),
        sa.Column("end_at", _TIME, nullable=False),
        sa.Column("contact", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("opened_by", sa.Text(), nullable=False),
        sa.Column("opened_at", _TIME, nullable=False),
        sa.Column("resolved_by", sa.Text()),
        sa.Column("resolved_at", _TIME),
        sa.Column("resolution", sa.Text()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_month_disputes")),
    )
    op.create_index("ix_month_disputes_month", "month_disputes", ["month", "service"])
    op.create_table(
        "month_pending_changes",
        *_month_columns(),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("detected_at", _TIME, nullable=False),
        sa.Column("figures", _JSON, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("downtime_delta_us", sa.BigInteger(), nullable=False),
        sa.Column("maintenance_delta_us", sa.BigInteger(), nullable=False),
        sa.Column("unknown_delta_us", sa.BigInteger(), nullable=False),
        sa.Column("ratio_delta", sa.Float(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.Text()),
        sa.Column("decided_at", _TIME),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_month_pending_changes")),
    )
    op.create_index(
        "ix_month_pending_changes_record", "month_pending_changes", ["record_id", "state"]
    )
    op.create_table(
        "report_deliveries",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TIME, nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("sent_at", _TIME),
        sa.Column("digest", sa.String(64)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_deliveries")),
        sa.UniqueConstraint("key", name=op.f("uq_report_deliveries_key")),
    )
    op.create_index("ix_report_deliveries_due", "report_deliveries", ["state", "next_attempt_at"])


def downgrade() -> None:
    for table in (
        "report_deliveries",
        "month_pending_changes",
        "month_disputes",
        "month_adjustments",
        "month_records",
        "rule_policies",
    ):
        op.drop_table(table)
