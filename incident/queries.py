"""Reading incidents: filtered, paginated lists, and one incident with its alerts and timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from collector.models import AlertInstance
from incident.models import Incident, IncidentEvent

__all__ = ["IncidentDetail", "IncidentQuery", "get_incident", "list_incidents"]


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


def list_incidents(session: Session, query: IncidentQuery) -> tuple[list[Incident], int | None]:
    """One page of incidents, newest first, and the id to continue after (or None)."""
    conditions: list[ColumnElement[bool]] = []
    if query.states:
        conditions.append(Incident.state.in_(query.states))
    if query.priorities:
        conditions.append(Incident.priority.in_(query.priorities))
    if query.service is not None:
        conditions.append(Incident.service == query.service)
    if query.source is not None:
        conditions.append(Incident.source == query.source)
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
    rows = list(
        session.scalars(
            select(Incident).where(*conditions).order_by(Incident.id.desc()).limit(query.limit + 1)
        )
    )
    if len(rows) > query.limit:
        return rows[: query.limit], rows[query.limit - 1].id
    return rows, None


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
