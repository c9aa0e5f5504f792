"""when slakeeper stored each alert instance's resolution; incidents count alerts on read

An incident's alert count is counted from `alerts.incident_id` when read: a stored count
made every delivery that attaches an alert write the incident's row, one at a time.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("alerts", sa.Column("resolved_received_at", sa.DateTime(timezone=True)))
    op.drop_column("incidents", "alert_count")


def downgrade() -> None:
    op.add_column(
        "incidents",
        sa.Column("alert_count", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    op.execute(
        "UPDATE incidents SET alert_count ="
        " (SELECT count(*) FROM alerts WHERE alerts.incident_id = incidents.id)"
    )
    op.drop_column("alerts", "resolved_received_at")
