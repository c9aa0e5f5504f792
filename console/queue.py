"""The incident queue as NOC staff read it: most urgent first, each with its SLA clock (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from console.clocks import tone

__all__ = ["QueueIncident", "QueueRow", "queue_rows"]


class QueueIncident(Protocol):
    """What the queue reads of an incident."""

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


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One row: the incident, its age, which clock runs, what is left and its colour."""

    incident: QueueIncident
    age: timedelta
    clock: str | None  # "response" or "resolution"; None when no target applies
    due_at: datetime | None
    left: timedelta | None  # negative once overdue
    tone: str  # "ok", "amber", "red"


def queue_rows(
    incidents: Sequence[QueueIncident], priority_order: Sequence[str], now: datetime
) -> list[QueueRow]:
    """The active incidents as rows, most urgent first: by priority (the rule file's order),
    then the clock with least time left, then the oldest."""
    rank = {name: index for index, name in enumerate(priority_order)}
    rows = [_row(incident, now) for incident in incidents]
    far = timedelta.max
    return sorted(
        rows,
        key=lambda row: (
            rank.get(row.incident.priority, len(rank)),
            row.left if row.left is not None else far,
            row.incident.opened_at,
        ),
    )


def _row(incident: QueueIncident, now: datetime) -> QueueRow:
    responding = incident.acknowledged_at is None
    clock = "response" if responding else "resolution"
    due = incident.response_due_at if responding else incident.resolution_due_at
    breached = incident.response_breached if responding else incident.resolution_breached
    start = incident.opened_at if responding else (incident.acknowledged_at or incident.opened_at)
    if due is None:
        return QueueRow(incident, now - incident.opened_at, None, None, None, "ok")
    left = due - now
    colour = tone(left, due - start, breached)
    return QueueRow(incident, now - incident.opened_at, clock, due, left, colour)
