"""Opening incidents: one, or thousands in a fixed number of statements."""

from __future__ import annotations

import typing
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

from core.counters import CounterKey, add_to_counters, counter_key
from core.database import insert_many
from core.wire import jsonable
from incident.clocks import due_times
from incident.lifecycle import State
from incident.models import Incident
from incident.notices import Notice, level_contacts, notify_many
from incident.store import row_fields
from incident.timeline import NewEvent, add_events
from rules.policy import RuleFile

__all__ = ["INCIDENTS_OPENED", "NewIncident", "open_incident", "open_incidents"]

INCIDENTS_OPENED = "slakeeper_incidents_opened_total"
_INCIDENTS = typing.cast(Table, Incident.__table__)


@dataclass(frozen=True, slots=True)
class NewIncident:
    """What opening an incident needs to know."""

    title: str
    service: str
    priority: str
    level: str | None
    category: str
    impact: str
    source: str
    started_at: datetime
    group_key: str | None = None
    reporter: str | None = None
    channel: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


_OPENED_FIELDS = (
    "title",
    "service",
    "priority",
    "level",
    "category",
    "impact",
    "started_at",
    "reporter",
    "channel",
)


def open_incident(
    session: Session,
    new: NewIncident,
    *,
    rules: RuleFile,
    actor: str,
    now: datetime,
    via: str | None = None,
) -> Incident:
    """Open an incident at `now`, start its clocks, and notify the contacts of its level."""
    [incident_id] = open_incidents(session, [new], rules=rules, actor=actor, now=now, via=via)
    incident = session.get(Incident, incident_id)
    assert incident is not None, "the incident was inserted by this transaction"
    return incident


def open_incidents(
    session: Session,
    news: Sequence[NewIncident],
    *,
    rules: RuleFile,
    actor: str,
    now: datetime,
    via: str | None = None,
) -> list[int]:
    """`open_incident` for many at once, in a fixed number of statements however many; the
    new incidents' ids, in the order of `news`.

    Rows, not ORM objects: a push of thousands of new groups used to open them one by one,
    five round trips each, holding the writer for tens of seconds, and then spent most of
    its time in the ORM's bookkeeping for objects nobody reads in this transaction.
    """
    if not news:
        return []
    due: dict[str, tuple[datetime | None, datetime | None]] = {}
    for priority in {new.priority for new in news}:
        policy = rules.priorities.get(priority)
        # All open at `now`: one computation per priority, not per incident.
        due[priority] = (
            due_times(policy, opened_at=now, acknowledged_at=None)
            if policy is not None
            else (None, None)
        )
    rows = [_new_row(new, due[new.priority], now) for new in news]
    ids = insert_many(session, _INCIDENTS, rows, return_ids=True)
    opened_rows = [{"id": incident_id, **row} for incident_id, row in zip(ids, rows, strict=True)]
    add_events(session, [_opened(row, actor, via, now) for row in opened_rows])
    # Nothing is attached yet to an incident just opened: its alerts join it after.
    notify_many(
        session,
        [
            Notice(
                row_fields(row, 0),
                contacts=level_contacts(rules, row["level"]),
                reason="opened",
                key="opened",
                details=new.details,
            )
            for row, new in zip(opened_rows, news, strict=True)
        ],
        now=now,
    )
    opened: Counter[CounterKey] = Counter(
        counter_key(INCIDENTS_OPENED, service=new.service, priority=new.priority) for new in news
    )
    add_to_counters(session, opened)
    return ids


def _opened(row: dict[str, Any], actor: str, via: str | None, now: datetime) -> NewEvent:
    after = {name: jsonable(row[name]) for name in _OPENED_FIELDS}
    return NewEvent(row["id"], now, actor, "opened", after=after, via=via)


def _new_row(
    new: NewIncident, due: tuple[datetime | None, datetime | None], now: datetime
) -> dict[str, Any]:
    """The `incidents` row of an incident opened at `now`, every column but its id."""
    response_due_at, resolution_due_at = due
    return {
        "title": new.title,
        "service": new.service,
        "priority": new.priority,
        "level": new.level,
        "category": new.category,
        "impact": new.impact,
        "state": State.OPEN.value,
        "source": new.source,
        "group_key": new.group_key,
        "started_at": new.started_at,
        "opened_at": now,
        "acknowledged_at": None,
        "resolved_at": None,
        "closed_at": None,
        "acknowledged_by": None,
        "resolved_by": None,
        "closed_by": None,
        "reporter": new.reporter,
        "channel": new.channel,
        "response_due_at": response_due_at,
        "resolution_due_at": resolution_due_at,
        "response_breached": False,
        "resolution_breached": False,
        "response_seconds": None,
        "resolution_seconds": None,
        "flap_count": 0,
        "updated_at": now,
    }
