"""housekeeping: the indexes its batched deletes select through

Revision ID: 0012_housekeeping
Revises: 0011
Create Date: 2026-12-07

The alert indexes are partial, with the predicates `housekeeping.models` declares and its
queries repeat word for word (copied here: a migration does not change when the code does).
Building them reads the whole alerts table once; on a large PostgreSQL installation that
holds writes to it for that long (plain CREATE INDEX, in the migration's transaction).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_housekeeping"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNCOUNTED = sa.text(
    "status = 'resolved' AND (impact IS NULL OR impact NOT IN ('outage', 'degraded') "
    "OR (service IS NULL AND incident_id IS NULL))"
)
_COUNTED = sa.text("status = 'resolved' AND impact IN ('outage', 'degraded')")


def upgrade() -> None:
    op.create_index(
        "ix_alerts_housekeeping_uncounted",
        "alerts",
        ["ends_at"],
        postgresql_where=_UNCOUNTED,
        sqlite_where=_UNCOUNTED,
    )
    op.create_index(
        "ix_alerts_housekeeping_counted",
        "alerts",
        ["service", "ends_at"],
        postgresql_where=_COUNTED,
        sqlite_where=_COUNTED,
    )
    op.create_index("ix_notification_attempts_at", "notification_attempts", ["at"])


def downgrade() -> None:
    op.drop_index("ix_notification_attempts_at", table_name="notification_attempts")
    op.drop_index("ix_alerts_housekeeping_counted", table_name="alerts")
    op.drop_index("ix_alerts_housekeeping_uncounted", table_name="alerts")
