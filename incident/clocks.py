"""SLA clocks: when a response and a resolution are due, and when a breach happened.

Pure functions of the incident's times and its priority's policy; `now` is passed in.
Acknowledging is the response; resolving without an acknowledgement responds too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from rules.policy import PriorityPolicy

__all__ = ["Breach", "BreachKind", "SlaTimes", "due_times", "new_breaches", "withdrawn_breaches"]


class BreachKind(StrEnum):
    RESPONSE = "response"
    RESOLUTION = "resolution"


@dataclass(frozen=True, slots=True)
class SlaTimes:
    """What the clocks need to know of an incident."""

    opened_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    response_due_at: datetime | None
    resolution_due_at: datetime | None
    response_breached: bool = False
    resolution_breached: bool = False

    @property
    def responded_at(self) -> datetime | None:
        if self.acknowledged_at is None:
            return self.resolved_at
        if self.resolved_at is None:
            return self.acknowledged_at
        return min(self.acknowledged_at, self.resolved_at)


@dataclass(frozen=True, slots=True)
class Breach:
    """A target missed: which one, and the instant it was missed (its due time)."""

    kind: BreachKind
    at: datetime


def due_times(
    policy: PriorityPolicy, *, opened_at: datetime, acknowledged_at: datetime | None
) -> tuple[datetime, datetime | None]:
    """`response_due_at` and `resolution_due_at` (None until acknowledged, when measured so)."""
    response = policy.respond.deadline(opened_at)
    if policy.resolution_from == "acknowledged":
        if acknowledged_at is None:
            return response, None
        return response, policy.resolve.deadline(acknowledged_at)
    return response, policy.resolve.deadline(opened_at)


def new_breaches(times: SlaTimes, now: datetime) -> list[Breach]:
    """Breaches that have happened by `now` and are not yet recorded on the incident."""
    found = []
    if not times.response_breached and _missed(times.response_due_at, times.responded_at, now):
        assert times.response_due_at is not None
        found.append(Breach(BreachKind.RESPONSE, times.response_due_at))
    if not times.resolution_breached and _missed(times.resolution_due_at, times.resolved_at, now):
        assert times.resolution_due_at is not None
        found.append(Breach(BreachKind.RESOLUTION, times.resolution_due_at))
    return found


def _missed(due: datetime | None, done: datetime | None, now: datetime) -> bool:
    if due is None:
        return False
    if done is not None:
        return done > due
    return now >= due


def withdrawn_breaches(times: SlaTimes) -> list[Breach]:
    """Breaches recorded on the incident that its times now contradict.

    A breach is recorded when a target's due time passes with nothing done; a resolved
    notification that arrives late may then back-date the resolution (and so the response it
    counts as) to before the due time. The record follows the facts: such a breach is
    withdrawn.
    """
    found = []
    for kind, breached, due, done in (
        (BreachKind.RESPONSE, times.response_breached, times.response_due_at, times.responded_at),
        (
            BreachKind.RESOLUTION,
            times.resolution_breached,
            times.resolution_due_at,
            times.resolved_at,
        ),
    ):
        if breached and due is not None and done is not None and done <= due:
            found.append(Breach(kind, due))
    return found
