"""when slakeeper stored each alert instance's resolution

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


def downgrade() -> None:
    op.drop_column("alerts", "resolved_received_at")
