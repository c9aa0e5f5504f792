"""Reading incidents: filtered, paginated lists, and one incident with its alerts and timeline."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, Row, bindparam, or_, select
from sqlalchemy.orm import Session

from collector.models import AlertInstance
from core.pages import SCAN_BUDGET_ROWS, id_window, unbounded
from incident.models import Incident, IncidentEvent
from incident.store import ACTIVE_STATES

__all__ = [
    "QUEUE_COLUMNS",
    "IncidentDetail",
    "IncidentPage",
    "QueueEntry",
    "IncidentQuery",
    "get_incident",
    "incident_page",
    "list_incidents",
    "queue_incidents",
]


MANUAL = "manual"  # the source of incidents people report


@dataclass(frozen=True, slots=True)
class IncidentQuery:
    """Filters of `GET /api/v1/incidents`; `since`/`until` select incidents open in between."""

    states: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    service: str | None = None
    source: str | None = None
    levels: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    impacts: tuple[str, ...] = ()
    breached: bool | None = None
    acknowledged_by: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    after_id: int | None = None
    limit: int = 100


def list_incidents(
    session: Session, query: IncidentQuery, *, scan_budget: int = SCAN_BUDGET_ROWS
) -> tuple[list[Incident], int | None]:
    """One page of incidents, newest first, and the id to continue after (or None).

    Filters an index serves in id order (one state, or only active ones; a service; the
    manual incidents) give full pages; others examine a window of at most `scan_budget`
    ids below the cursor (`core.pages`), so a page may be short and its cursor go on."""
    conditions = _conditions(replace(query, after_id=None))
    # No filter at all: the primary key itself serves it.
    window = (
        unbounded(query.after_id)
        if not conditions or _indexed(query)
        else id_window(session, Incident.id, query.after_id, scan_budget)
    )
    if window is None:
        return [], None  # no incident at all
    conditions += window.conditions(Incident.id)
    rows = list(
        session.scalars(
            select(Incident).where(*conditions).order_by(Incident.id.desc()).limit(query.limit + 1)
        )
    )
    page_cursor = rows[query.limit - 1].id if len(rows) > query.limit else None
    return rows[: query.limit], window.cursor_after(page_cursor)


def _indexed(query: IncidentQuery) -> bool:
    """Whether an index reads the incidents `query` asks for in id order (migration
    0013_big_tables: state and id, service and id, the manual incidents' ids)."""
    return (
        len(query.states) == 1
        or (bool(query.states) and set(query.states) <= set(ACTIVE_STATES))
        or query.service is not None
        or query.source == MANUAL
    )


class QueueEntry(NamedTuple):
    """An incident as a queue reads it, named as the incident's attributes. Read as plain
    rows, not ORM objects, since a queue may hold thousands and is read every few seconds;
    and as a tuple, whose attributes are read ten times faster than a database row's."""

    id: int
    title: str
    service: str
    priority: str
    state: str
    opened_at: datetime
    acknowledged_at: datetime | None
    response_due_at: datetime | None
    resolution_due_at: datetime | None
    response_breached: bool
    resolution_breached: bool


QUEUE_COLUMNS = tuple(getattr(Incident, name) for name in QueueEntry._fields)


def queue_incidents(session: Session, query: IncidentQuery) -> list[QueueEntry]:
    """Up to `query.limit` incidents matching `query`, newest first."""
    statement = (
        select(*QUEUE_COLUMNS)
        .where(*_conditions(query))
        .order_by(Incident.id.desc())
        .limit(query.limit)
    )
    return [QueueEntry._make(row) for row in session.execute(statement)]


def _conditions(query: IncidentQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.states:
        conditions.append(Incident.state.in_(query.states))
    if query.priorities:
        conditions.append(Incident.priority.in_(query.priorities))
    if query.service is not None:
        conditions.append(Incident.service == query.service)
    if query.source is not None:
        # Written into the SQL, so that SQLite too may use the partial index of manual ids.
        conditions.append(
            Incident.source == bindparam("source", query.source, literal_execute=True)
        )
    for column_, wanted in (
        (Incident.level, query.levels),
        (Incident.category, query.categories),
        (Incident.impact, query.impacts),
    ):
        if wanted:
            conditions.append(column_.in_(wanted))
    if query.breached is not None:
        either = or_(Incident.response_breached, Incident.resolution_breached)
        conditions.append(either if query.breached else ~either)
    if query.acknowledged_by is not None:
        conditions.append(Incident.acknowledged_by == query.acknowledged_by)
    if query.since is not None:
        conditions.append(or_(Incident.resolved_at.is_(None), Incident.resolved_at >= query.since))
    if query.until is not None:
        conditions.append(Incident.opened_at < query.until)
    if query.after_id is not None:
        conditions.append(Incident.id < query.after_id)
    return conditions


@dataclass(frozen=True, slots=True)
class IncidentDetail:
    incident: Incident
    alerts: list[AlertInstance]
    timeline: list[IncidentEvent]


def get_incident(session: Session, incident_id: int) -> IncidentDetail | None:
    """The incident, its alerts (oldest first) and its timeline (in order), or None."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        return None
    alerts = session.scalars(
        select(AlertInstance)
        .where(AlertInstance.incident_id == incident_id)
        .order_by(AlertInstance.starts_at, AlertInstance.id)
    )
    timeline = session.scalars(
        select(IncidentEvent)
        .where(IncidentEvent.incident_id == incident_id)
        .order_by(IncidentEvent.at, IncidentEvent.id)
    )
    return IncidentDetail(incident, list(alerts), list(timeline))


@dataclass(frozen=True, slots=True)
class IncidentPage:
    """An incident with what a page lists of its alerts and timeline, as plain rows (an
    incident may have thousands of alerts: no ORM object per row)."""

    incident: Incident
    alerts: list[Row[tuple[object, ...]]]
    timeline: list[Row[tuple[object, ...]]]


_PAGE_ALERT_COLUMNS = (
    AlertInstance.id,
    AlertInstance.status,
    AlertInstance.starts_at,
    AlertInstance.ends_at,
    AlertInstance.labels,
    AlertInstance.annotations,
    AlertInstance.generator_url,
)
_PAGE_EVENT_COLUMNS = (
    IncidentEvent.at,
    IncidentEvent.actor,
    IncidentEvent.via,
    IncidentEvent.kind,
    IncidentEvent.before,
    IncidentEvent.after,
    IncidentEvent.note,
)


def incident_page(session: Session, incident_id: int) -> IncidentPage | None:
    """The incident, its alerts (oldest first: id, status, starts_at, ends_at, labels,
    annotations, generator_url) and its timeline in order (at, actor, via, kind, before,
    after, note); None if there is no such incident."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        return None
    alerts = session.execute(
        select(*_PAGE_ALERT_COLUMNS)
        .where(AlertInstance.incident_id == incident_id)
        .order_by(AlertInstance.starts_at, AlertInstance.id)
    )
    timeline = session.execute(
        select(*_PAGE_EVENT_COLUMNS)
        .where(IncidentEvent.incident_id == incident_id)
        .order_by(IncidentEvent.at, IncidentEvent.id)
    )
    return IncidentPage(incident, list(alerts), list(timeline))
