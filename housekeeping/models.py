"""The indexes housekeeping's deletes select through, on other packages' tables.

Declared here, beside the queries that need them, so that each batch's `SELECT id … LIMIT n`
reads an index range instead of scanning a table that grows by the million. The alert
indexes are partial: their predicates are the SQL texts the queries repeat word for word
(`RESOLVED_UNCOUNTED`, `RESOLVED_COUNTED`), so PostgreSQL's planner can prove they apply.
"""

from __future__ import annotations

from sqlalchemy import Index, Table, text

from access.models import AuditEvent
from collector.models import AlertInstance
from incident.models import NotificationAttempt

__all__ = ["ALERTS", "ATTEMPTS", "RESOLVED_COUNTED", "RESOLVED_UNCOUNTED"]

ALERTS: Table = AlertInstance.__table__  # type: ignore[assignment]
ATTEMPTS: Table = NotificationAttempt.__table__  # type: ignore[assignment]
AUDIT: Table = AuditEvent.__table__  # type: ignore[assignment]

# Resolved instances that count in no figure: impact none (or unclassified), or neither a
# service nor an incident to count under. They go after their retention alone.
RESOLVED_UNCOUNTED = (
    "status = 'resolved' AND (impact IS NULL OR impact NOT IN ('outage', 'degraded') "
    "OR (service IS NULL AND incident_id IS NULL))"
)
# Resolved instances that may count in a month's figures: they go by service and month.
RESOLVED_COUNTED = "status = 'resolved' AND impact IN ('outage', 'degraded')"

Index(
    "ix_alerts_housekeeping_uncounted",
    ALERTS.c.ends_at,
    postgresql_where=text(RESOLVED_UNCOUNTED),
    sqlite_where=text(RESOLVED_UNCOUNTED),
)
Index(
    "ix_alerts_housekeeping_counted",
    ALERTS.c.service,
    ALERTS.c.ends_at,
    postgresql_where=text(RESOLVED_COUNTED),
    sqlite_where=text(RESOLVED_COUNTED),
)
Index("ix_notification_attempts_at", ATTEMPTS.c.at)
