"""What every part of the incident domain shares: the active states, the automatic actor,
group-key locks, the incident as the API and notifications show it, and alert counts.

Callers hold the transaction; nothing here commits. `now` is always passed in.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Table, case, func, select, text
from sqlalchemy.orm import Session

from collector.alerts import AlertStatus
from collector.models import AlertInstance
from core.wire import jsonable
from incident.lifecycle import State
from incident.models import Incident

__all__ = [
    "ACTIVE_STATES",
    "SYSTEM",
    "count_alerts",
    "count_firing_alerts",
    "incident_fields",
    "lock_group_keys",
    "row_fields",
]

SYSTEM = "slakeeper"  # the actor of every automatic change
_INCIDENTS = typing.cast(Table, Incident.__table__)
ACTIVE_STATES = (State.OPEN.value, State.ACKNOWLEDGED.value)


def lock_group_keys(session: Session, keys: Iterable[str]) -> None:
    """Make this transaction the only one deciding for `keys` until it ends.

    On PostgreSQL a transaction-scoped advisory lock per key, taken in key order so two
    transactions never wait on each other in a cycle. SQLite has one writer at a time.
    """
    wanted = sorted(set(keys))
    if not wanted or session.get_bind().dialect.name != "postgresql":
        return
    session.execute(
        text(
            "SELECT pg_advisory_xact_lock(hashtextextended(key, 0))"
            " FROM unnest(CAST(:keys AS text[])) AS key"
        ),
        {"keys": wanted},
    )


def incident_fields(incident: Incident, *, alert_count: int) -> dict[str, Any]:
    """The incident as the API and notifications show it (docs/architecture.md), JSON-ready."""
    return row_fields({name: getattr(incident, name) for name in _FIELD_NAMES}, alert_count)


_FIELD_NAMES = tuple(column.key for column in _INCIDENTS.columns if column.key != "updated_at")


def row_fields(incident: Mapping[str, Any], alert_count: int) -> dict[str, Any]:
    """`incident_fields` of a row: every column of `incidents` but `updated_at`."""
    return {
        "id": incident["id"],
        "title": incident["title"],
        "service": incident["service"],
        "priority": incident["priority"],
        "level": incident["level"],
        "category": incident["category"],
        "impact": incident["impact"],
        "state": incident["state"],
        "source": incident["source"],
        "group_key": incident["group_key"],
        "started_at": jsonable(incident["started_at"]),
        "opened_at": jsonable(incident["opened_at"]),
        "acknowledged_at": jsonable(incident["acknowledged_at"]),
        "acknowledged_by": incident["acknowledged_by"],
        "resolved_at": jsonable(incident["resolved_at"]),
        "resolved_by": incident["resolved_by"],
        "closed_at": jsonable(incident["closed_at"]),
        "closed_by": incident["closed_by"],
        "reporter": incident["reporter"],
        "channel": incident["channel"],
        "response_due_at": jsonable(incident["response_due_at"]),
        "resolution_due_at": jsonable(incident["resolution_due_at"]),
        "response_breached": incident["response_breached"],
        "resolution_breached": incident["resolution_breached"],
        "response_seconds": incident["response_seconds"],
        "resolution_seconds": incident["resolution_seconds"],
        "alert_count": alert_count,
        "flap_count": incident["flap_count"],
    }


def count_alerts(session: Session, incident_ids: Iterable[int]) -> dict[int, int]:
    """How many alert instances each incident has (0 for none), in one query."""
    wanted = sorted(set(incident_ids))
    counts = dict.fromkeys(wanted, 0)
    if wanted:
        rows = session.execute(
            select(AlertInstance.incident_id, func.count())
            .where(AlertInstance.incident_id.in_(wanted))
            .group_by(AlertInstance.incident_id)
        )
        counts.update((incident_id, count) for incident_id, count in rows if incident_id)
    return counts


def count_firing_alerts(
    session: Session, incident_ids: Iterable[int]
) -> dict[int, tuple[int, datetime | None]]:
    """For each incident: how many of its alerts still fire, and the latest end of the rest."""
    wanted = sorted(set(incident_ids))
    if not wanted:
        return {}
    firing = func.sum(case((AlertInstance.status == AlertStatus.FIRING.value, 1), else_=0))
    rows = session.execute(
        select(AlertInstance.incident_id, firing, func.max(AlertInstance.ends_at))
        .where(AlertInstance.incident_id.in_(wanted))
        .group_by(AlertInstance.incident_id)
    )
    return {incident_id: (int(count or 0), ends) for incident_id, count, ends in rows}
