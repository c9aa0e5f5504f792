"""big tables: indexes for a year of alerts and incidents

- alerts (service, id) instead of (service): a service's alerts newest first read in order
  (a quiet service's page read 280,000 rows of the primary key before);
- alerts (id) of the firing ones only: the firing alerts newest first, however old;
- alerts (ends_at) of outage and degraded ones (on PostgreSQL with the window's columns, read
  from the index alone): the windows that overlap a period (the scrape, the services page,
  the report) without reading every alert;
- alerts (incident_id, impact) instead of (incident_id): the worst impact of each of a
  month's incidents' alerts from the index alone (it read every alert);
- incidents (state, id) instead of (state), (service, id), (id) of the manual ones: those
  pages in order (no manual incident: every incident was read to say so);
- incidents (opened_at), (resolved_at): a month's incidents and the incident windows that
  overlap a period, without reading every incident.

Revision ID: 0013_big_tables
Revises: 0012_housekeeping
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_big_tables"
down_revision: str | None = "0012_housekeeping"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FIRING = sa.text("status = 'firing'")
_MANUAL = sa.text("source = 'manual'")
_COUNTED = sa.text("impact IN ('outage', 'degraded')")
# What availability reads of an alert's window: from the index alone on PostgreSQL.
_WINDOW_COLUMNS = ["starts_at", "status", "impact", "service", "incident_id"]


def upgrade() -> None:
    op.create_index("ix_alerts_service_id", "alerts", ["service", "id"])
    op.drop_index("ix_alerts_service", table_name="alerts")
    op.create_index(
        "ix_alerts_firing_id",
        "alerts",
        ["id"],
        postgresql_where=_FIRING,
        sqlite_where=_FIRING,
    )
    op.create_index(
        "ix_alerts_impact_windows",
        "alerts",
        ["ends_at"],
        postgresql_include=_WINDOW_COLUMNS,
        postgresql_where=_COUNTED,
        sqlite_where=_COUNTED,
    )
    op.create_index("ix_alerts_incident_id_impact", "alerts", ["incident_id", "impact"])
    op.drop_index("ix_alerts_incident_id", table_name="alerts")
    op.create_index("ix_incidents_state_id", "incidents", ["state", "id"])
    op.drop_index("ix_incidents_state", table_name="incidents")
    op.create_index("ix_incidents_service_id", "incidents", ["service", "id"])
    op.create_index(
        "ix_incidents_manual_id",
        "incidents",
        ["id"],
        postgresql_where=_MANUAL,
        sqlite_where=_MANUAL,
    )
    op.create_index("ix_incidents_opened_at", "incidents", ["opened_at"])
    op.create_index("ix_incidents_resolved_at", "incidents", ["resolved_at"])


def downgrade() -> None:
    op.drop_index("ix_incidents_resolved_at", table_name="incidents")
    op.drop_index("ix_incidents_opened_at", table_name="incidents")
    op.drop_index("ix_incidents_manual_id", table_name="incidents")
    op.drop_index("ix_incidents_service_id", table_name="incidents")
    op.create_index("ix_incidents_state", "incidents", ["state"])
    op.drop_index("ix_incidents_state_id", table_name="incidents")
    op.create_index("ix_alerts_incident_id", "alerts", ["incident_id"])
    op.drop_index("ix_alerts_incident_id_impact", table_name="alerts")
    op.drop_index("ix_alerts_impact_windows", table_name="alerts")
    op.drop_index("ix_alerts_firing_id", table_name="alerts")
    op.create_index("ix_alerts_service", "alerts", ["service"])
    op.drop_index("ix_alerts_service_id", table_name="alerts")
