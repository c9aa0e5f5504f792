"""What availability is computed from, read from the database in bulk.

Outage and degraded windows come from the stored alerts and incidents, so a
reclassification changes the figures: an alert counts at its own impact, capped by its
incident's (a person who lowers an incident to `none` removes its alerts' downtime), under
its incident's service; a manual incident counts from its reported start to its
resolution; an alert incident that a person raised above every one of its alerts counts,
like a manual one, from its start to its resolution at the raised impact. Open windows end
at `now`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Executable,
    Select,
    bindparam,
    cast,
    func,
    or_,
    select,
    union,
)
from sqlalchemy.orm import Session

from availability.maintenance import MaintenanceDefinition, Origin
from availability.models import MaintenanceWindow
from availability.periods import to_micros
from collector.alerts import AlertStatus
from collector.models import AlertInstance
from incident.models import Incident
from incident.store import ACTIVE_STATES
from rules.schema import Impact

__all__ = [
    "IMPACT_COUNTED",
    "WINDOW_COLUMNS",
    "ImpactWindows",
    "add_maintenance",
    "delete_maintenance",
    "known_services",
    "load_impact_windows",
    "INCIDENT_COLUMNS",
    "load_incidents",
    "load_maintenance",
    "open_incident_counts",
]

IMPACT_COUNTED = (Impact.OUTAGE.value, Impact.DEGRADED.value)
_RANK = {Impact.NONE.value: 0, Impact.DEGRADED.value: 1, Impact.OUTAGE.value: 2}
_IMPACT_OF_RANK = np.array([Impact.NONE.value, Impact.DEGRADED.value, Impact.OUTAGE.value])
# service, impact ("outage" | "degraded"), start and end in µs since the epoch, open (bool)
WINDOW_COLUMNS = ("service", "impact", "start", "end", "open")


@dataclass(frozen=True)
class ImpactWindows:
    """Outage and degraded windows, one row each (WINDOW_COLUMNS), unclipped."""

    frame: pd.DataFrame


def _epoch_micros(column: ColumnElement[Any], dialect: str) -> ColumnElement[int]:
    """A timestamp column as µs since the epoch, computed by the database: reading 100,000
    windows must not build 200,000 datetime objects in Python."""
    if dialect == "postgresql":
        return cast(func.extract("epoch", column) * 1_000_000, BigInteger)
    # SQLite keeps UTC text, 'YYYY-MM-DD HH:MM:SS.ffffff' (SQLAlchemy's storage format).
    # The whole seconds without the fraction: strftime would round .9995 up a second.
    return cast(func.strftime("%s", func.substr(column, 1, 19)), BigInteger) * 1_000_000 + cast(
        func.substr(column, 21, 6), BigInteger
    )


def _micros_array(values: pd.Series, default: int) -> np.ndarray[Any, np.dtype[np.int64]]:
    """µs read from the database (None where missing) as int64, `default` for None."""
    filled: np.ndarray[Any, np.dtype[np.int64]] = (
        pd.to_numeric(values).fillna(default).to_numpy(dtype=np.int64)
    )
    return filled


def load_impact_windows(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    now: datetime,
    services: Sequence[str] | None = None,
) -> ImpactWindows:
    """The outage and degraded windows that overlap [since, until), for `services` (all
    when None)."""
    alerts = _alert_windows(session, since=since, until=until, now=now, services=services)
    incidents = _incident_windows(session, since=since, until=until, now=now, services=services)
    frame = pd.concat([alerts, incidents], ignore_index=True)
    return ImpactWindows(frame[frame["end"] > frame["start"]].reset_index(drop=True))


def _alert_windows(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    now: datetime,
    services: Sequence[str] | None,
) -> pd.DataFrame:
    alert, incident = AlertInstance.__table__.c, Incident.__table__.c
    dialect = session.get_bind().dialect.name
    query = (
        select(
            func.coalesce(incident.service, alert.service).label("service"),
            alert.impact,
            incident.impact.label("incident_impact"),
            alert.status,
            _epoch_micros(alert.starts_at, dialect),
            _epoch_micros(alert.ends_at, dialect),
        )
        .select_from(
            AlertInstance.__table__.outerjoin(Incident.__table__, incident.id == alert.incident_id)
        )
        # Literal, so that PostgreSQL's partial index of outage and degraded windows serves
        # it whatever plan it caches.
        .where(alert.impact.in_(bindparam("counted", IMPACT_COUNTED, literal_execute=True)))
        .where(alert.starts_at < until)
    )

    if services is None:
        # Ended after `since`, then still firing: two ranges of the windows' index, where one
        # OR of both reads all of it (a year of windows, for a month's).
        rows = _raw(session, query.where(alert.ends_at > since))
        rows += _raw(session, query.where(alert.ends_at.is_(None)))
    else:
        names = list(services)
        query = query.where(or_(alert.ends_at.is_(None), alert.ends_at > since))
        # The alert's own service (indexed), then the alerts of incidents a person moved to
        # one of `services`: two indexed reads, where one OR of both would scan the table.
        rows = _raw(session, query.where(alert.service.in_(names)))
        rows += _raw(
            session,
            query.where(incident.service.in_(names)).where(
                or_(alert.service.is_(None), alert.service.not_in(names))
            ),
        )
    frame = pd.DataFrame(
        rows, columns=["service", "impact", "incident_impact", "status", "starts_at", "ends_at"]
    )
    return _windows_of(frame, now=now, services=services)


def _windows_of(
    frame: pd.DataFrame, *, now: datetime, services: Sequence[str] | None
) -> pd.DataFrame:
    """Alert rows as windows: each alert at its own impact capped by its incident's, open
    ones ending at `now`; only `services`' when given."""
    firing = (frame["status"] == AlertStatus.FIRING.value).to_numpy()
    own = frame["impact"].map(_RANK).to_numpy(dtype=np.int64)
    capped = frame["incident_impact"].map(_RANK).fillna(2).to_numpy(dtype=np.int64)
    rank = np.minimum(own, capped)
    now_us = to_micros(now)
    ends = np.where(firing, now_us, _micros_array(frame["ends_at"], now_us))
    windows = pd.DataFrame(
        {
            "service": frame["service"].astype(object),
            "impact": _IMPACT_OF_RANK[rank],
            "start": _micros_array(frame["starts_at"], now_us),
            "end": ends,
            "open": firing,
        }
    )
    if services is not None:
        rank = np.where(windows["service"].isin(list(services)).to_numpy(), rank, 0)
    return windows[rank > 0]


def _incident_windows(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    now: datetime,
    services: Sequence[str] | None,
) -> pd.DataFrame:
    dialect = session.get_bind().dialect.name
    overlapping = [
        Incident.impact.in_(IMPACT_COUNTED),
        Incident.started_at < until,
        or_(Incident.resolved_at.is_(None), Incident.resolved_at > since),
    ]
    if services is not None:
        overlapping.append(Incident.service.in_(list(services)))
    query = select(
        Incident.id,
        Incident.service,
        Incident.impact,
        Incident.source,
        _epoch_micros(Incident.__table__.c.started_at, dialect),
        _epoch_micros(Incident.__table__.c.resolved_at, dialect),
    ).where(*overlapping)
    frame = pd.DataFrame(
        _raw(session, query),
        columns=["id", "service", "impact", "source", "started_at", "resolved_at"],
    )
    from_alerts = frame[frame["source"] == "alert"]
    if not from_alerts.empty:
        worst = _worst_alert_impacts(
            session, select(Incident.id).where(*overlapping, Incident.source == "alert")
        )
        raised = from_alerts["impact"].map(_RANK) > from_alerts["id"].map(worst).fillna(0)
        frame = pd.concat([frame[frame["source"] != "alert"], from_alerts[raised]])
    ongoing = frame["resolved_at"].isna()
    now_us = to_micros(now)
    return pd.DataFrame(
        {
            "service": frame["service"].astype(object),
            "impact": frame["impact"].astype(object),
            "start": _micros_array(frame["started_at"], now_us),
            "end": _micros_array(frame["resolved_at"], now_us),
            "open": ongoing.to_numpy(),
        }
    )


def _worst_alert_impacts(session: Session, incidents: Select[int]) -> dict[int, int]:
    # The incidents as a subquery, not a list of ids: a month of a year's incidents is tens
    # of thousands of ids, past what SQLite binds, and a list that long made PostgreSQL read
    # every alert instead of probing (incident_id, impact) for each incident.
    worst: dict[int, int] = {}
    rows = session.execute(
        select(AlertInstance.incident_id, AlertInstance.impact)
        .where(AlertInstance.incident_id.in_(incidents.scalar_subquery()))
        .group_by(AlertInstance.incident_id, AlertInstance.impact)
    )
    for incident_id, impact in rows:
        if incident_id is not None:
            worst[incident_id] = max(worst.get(incident_id, 0), _RANK.get(impact or "", 0))
    return worst


def _raw(session: Session, query: Executable) -> list[tuple[Any, ...]]:
    """Every row as the driver returns it, in one `fetchall`: for queries of plain numbers
    and strings (no type processing), where building a row object each costs more than the
    query."""
    result = session.connection().execute(query)
    rows: list[tuple[Any, ...]] = list(result.cursor.fetchall())
    result.close()
    return rows


def load_maintenance(
    session: Session, *, service: str | None = None
) -> list[MaintenanceDefinition]:
    """The maintenance windows entered through the API and not deleted, oldest first."""
    query = (
        select(MaintenanceWindow)
        .where(MaintenanceWindow.deleted_at.is_(None))
        .order_by(MaintenanceWindow.id)
    )
    if service is not None:
        query = query.where(MaintenanceWindow.service == service)
    return [_definition(row) for row in session.scalars(query)]


def _definition(row: MaintenanceWindow) -> MaintenanceDefinition:
    return MaintenanceDefinition(
        service=row.service,
        origin=Origin.API,
        reason=row.reason,
        start=row.start_at,
        end=row.end_at,
        cron=row.cron,
        duration=timedelta(seconds=row.duration_seconds) if row.duration_seconds else None,
        id=row.id,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def add_maintenance(
    session: Session, definition: MaintenanceDefinition, *, actor: str, now: datetime
) -> MaintenanceDefinition:
    """Store a window entered through the API; the stored definition, with its id."""
    row = MaintenanceWindow(
        service=definition.service,
        start_at=definition.start,
        end_at=definition.end,
        cron=definition.cron,
        duration_seconds=(
            definition.duration.total_seconds() if definition.duration is not None else None
        ),
        reason=definition.reason,
        created_at=now,
        created_by=actor,
    )
    session.add(row)
    session.flush()
    return _definition(row)


def delete_maintenance(session: Session, window_id: int, *, actor: str, now: datetime) -> bool:
    """Mark a window deleted (the row stays, for the record); False if there is none."""
    row = session.get(MaintenanceWindow, window_id, with_for_update=True)
    if row is None or row.deleted_at is not None:
        return False
    row.deleted_at = now
    row.deleted_by = actor
    return True


def known_services(session: Session) -> set[str]:
    """Every service an alert, an incident or a maintenance window names."""
    query: Executable = union(
        _distinct_values(AlertInstance.__table__.c.service, "alert_services"),
        _distinct_values(Incident.__table__.c.service, "incident_services"),
        select(MaintenanceWindow.service).where(MaintenanceWindow.deleted_at.is_(None)).distinct(),
    )
    return {str(name) for (name,) in _raw(session, query) if name}


def _distinct_values(column: ColumnElement[Any], name: str) -> Select[tuple[Any]]:
    """The distinct non-null values of an indexed column, one index probe each (a loose
    index scan): a thousand services cost a thousand probes, not a scan of every alert."""
    found = select(func.min(column).label("value")).cte(name, recursive=True)
    following = select(column).where(column > found.c.value).order_by(column).limit(1)
    found = found.union_all(
        select(following.scalar_subquery().label("value")).where(found.c.value.is_not(None))
    )
    return select(found.c.value).where(found.c.value.is_not(None))


def open_incident_counts(session: Session) -> pd.DataFrame:
    """Active incidents per service, priority and state (columns service, priority, state,
    count)."""
    rows = session.execute(
        select(Incident.service, Incident.priority, Incident.state, func.count())
        .where(Incident.state.in_(ACTIVE_STATES))
        .group_by(Incident.service, Incident.priority, Incident.state)
    )
    return pd.DataFrame(
        [tuple(row) for row in rows], columns=["service", "priority", "state", "count"]
    )


# One row per incident opened in the period (the report's incident figures).
INCIDENT_COLUMNS = (
    "id",
    "service",
    "priority",
    "title",
    "opened_at",
    "acknowledged_at",
    "resolved_at",
    "response_due_at",
    "resolution_due_at",
    "response_breached",
    "resolution_breached",
    "response_seconds",
    "resolution_seconds",
)


def load_incidents(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    services: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The incidents opened in [since, until) (INCIDENT_COLUMNS)."""
    columns: list[Any] = [getattr(Incident, name) for name in INCIDENT_COLUMNS]
    query = (
        select(*columns)
        .where(Incident.opened_at >= since)
        .where(Incident.opened_at < until)
        .order_by(Incident.id)
    )
    if services is not None:
        query = query.where(Incident.service.in_(list(services)))
    # Through the column types (aware datetimes, booleans): a month's incidents are few.
    rows = [tuple(row) for row in session.execute(query)]
    return pd.DataFrame(rows, columns=list(INCIDENT_COLUMNS))
