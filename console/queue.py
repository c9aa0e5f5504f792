"""The incident queue as NOC staff read it: most urgent first, each with its SLA clock (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol

from console.clocks import tone
from console.i18n import Words

__all__ = ["QueueIncident", "QueueLine", "QueueRow", "queue_lines", "queue_rows"]


class QueueIncident(Protocol):
    """What the queue reads of an incident (an ORM object, or a plain tuple of it)."""

    @property
    def id(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def service(self) -> str: ...
    @property
    def priority(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def opened_at(self) -> datetime: ...
    @property
    def acknowledged_at(self) -> datetime | None: ...
    @property
    def response_due_at(self) -> datetime | None: ...
    @property
    def resolution_due_at(self) -> datetime | None: ...
    @property
    def response_breached(self) -> bool: ...
    @property
    def resolution_breached(self) -> bool: ...


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


class QueueLine(NamedTuple):
    """One row as the page shows it, every cell worded for the viewer."""

    id: int
    tone: str
    priority: str
    state: str
    service: str
    title: str
    age: str
    due: str  # when the running clock's target falls, in the viewer's zone
    clock: str  # "response due in 12 min", "resolution overdue by 1 h 05 min", "—"


def queue_lines(rows: Sequence[QueueRow], words: Words) -> list[QueueLine]:
    """`rows` in the viewer's language and zone."""
    return [
        QueueLine(
            row.incident.id,
            row.tone,
            row.incident.priority,
            words.word(row.incident.state),
            row.incident.service,
            row.incident.title,
            words.span(row.age),
            words.time(row.due_at),
            "—"
            if row.clock is None or row.left is None
            else words.running_clock(row.clock, row.left),
        )
        for row in rows
    ]
