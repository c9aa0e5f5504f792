"""SQL of housekeeping: which rows may go (`housekeeping.policy`), deleted a batch at a time.

Each batch is `DELETE … WHERE id IN (SELECT id … LIMIT n)` in a transaction of its own, which
also adds what it deleted to `slakeeper_housekeeping_deleted_total{table}`: ingestion waits
for one batch at most, never for a whole sweep, and the counter is exactly what went.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Engine,
    Select,
    Table,
    delete,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session

from collector.models import DeliveryRecord
from core.counters import add_to_counters, counter_key
from core.database import writing_session
from housekeeping.models import ALERTS, ATTEMPTS, AUDIT, RESOLVED_COUNTED, RESOLVED_UNCOUNTED
from housekeeping.policy import SettledRun, settled_months, settled_runs
from incident.models import Incident
from ledger.models import MonthRecord

__all__ = [
    "DELETED",
    "alert_selections",
    "closed_months_per_service",
    "delete_in_batches",
    "dated_selection",
    "runs_of",
]

DELETED = "slakeeper_housekeeping_deleted_total"

_TABLES: dict[str, Table] = {
    "deliveries": DeliveryRecord.__table__,  # type: ignore[dict-item]
    "alerts": ALERTS,
    "notification_attempts": ATTEMPTS,
    "audit_events": AUDIT,
}

Selection = Select[tuple[int]]
"""The ids of rows that may go (without its LIMIT)."""


def dated_selection(table: str, cutoff: datetime) -> Selection:
    """The rows of a table deleted by age alone older than `cutoff`."""
    if table == "deliveries":
        deliveries = DeliveryRecord.__table__.c
        return select(deliveries.id).where(deliveries.received_at < cutoff)
    if table == "notification_attempts":
        return select(ATTEMPTS.c.id).where(ATTEMPTS.c.at < cutoff)
    if table == "audit_events":
        return select(AUDIT.c.id).where(AUDIT.c.at < cutoff)
    raise ValueError(f"{table!r} is not deleted by age alone")


def closed_months_per_service(session: Session) -> dict[str, set[str]]:
    """The months each service has closed (a record not reopened)."""
    query = (
        select(MonthRecord.service, MonthRecord.month)
        .where(MonthRecord.reopened_at.is_(None))
        .distinct()
    )
    found: dict[str, set[str]] = {}
    for service, month in session.execute(query):
        found.setdefault(service, set()).add(month)
    return found


def runs_of(
    closed: dict[str, set[str]], *, oldest_watched: str, zone_of: Callable[[str], ZoneInfo]
) -> list[SettledRun]:
    """Every service's runs of settled months."""
    runs: list[SettledRun] = []
    for service, months in sorted(closed.items()):
        settled = settled_months(months, oldest_watched=oldest_watched)
        runs += settled_runs(service, settled, zone_of(service))
    return runs


def _uncounted(cutoff: datetime) -> Selection:
    alert = ALERTS.c
    return select(alert.id).where(text(RESOLVED_UNCOUNTED)).where(alert.ends_at < cutoff)


def _counted(run: SettledRun, cutoff: datetime) -> Selection:
    alert, incident = ALERTS.c, Incident.__table__.c
    # Its incident (same service, resolved) lies inside the run too. EXISTS, not a join:
    # the predicate's bare column names must name the alert's.
    incident_inside = (
        select(incident.id)
        .where(incident.id == alert.incident_id, incident.service == run.service)
        .where(incident.resolved_at.is_not(None), incident.resolved_at <= run.end)
        .where(incident.started_at >= run.start, incident.started_at < run.end)
        .exists()
    )
    return (
        select(alert.id)
        .where(text(RESOLVED_COUNTED))
        .where(alert.service == run.service)
        .where(alert.ends_at >= run.start, alert.ends_at <= run.end, alert.ends_at < cutoff)
        .where(alert.starts_at >= run.start, alert.starts_at < run.end)
        .where(or_(alert.incident_id.is_(None), incident_inside))
    )


def alert_selections(cutoff: datetime, runs: list[SettledRun]) -> Iterator[Selection]:
    """The alert instances that may go: those no figure counts, then each run's."""
    yield _uncounted(cutoff)
    for run in runs:
        if run.start < cutoff:
            yield _counted(run, cutoff)


def _delete_batch(session: Session, name: str, selection: Selection, limit: int) -> int:
    table = _TABLES[name]
    ids = selection.limit(limit).scalar_subquery()
    id_column: ColumnElement[int] = table.c.id
    result = cast(CursorResult[tuple[()]], session.execute(delete(table).where(id_column.in_(ids))))
    deleted = int(result.rowcount)
    add_to_counters(session, {counter_key(DELETED, table=name): deleted})
    return deleted


def delete_in_batches(
    engine: Engine,
    name: str,
    selection: Selection,
    *,
    limit: int,
    until: Callable[[], bool] = lambda: False,
) -> int:
    """Delete the rows of table `name` that `selection` names, `limit` per transaction,
    until none is left or `until()` is true; how many went."""
    total = 0
    while not until():
        with writing_session(engine) as session:
            deleted = _delete_batch(session, name, selection, limit)
        total += deleted
        if deleted < limit:
            break
    return total
