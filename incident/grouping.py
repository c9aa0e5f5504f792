"""Where a newly firing alert goes: the open incident of its group, a reopened one, or a new one.

Pure: the caller looks up the group's active incident and its last resolved one (under a
lock on the group key, so concurrent deliveries decide one at a time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from rules.schema import Impact

__all__ = [
    "Placement",
    "Decision",
    "ResolvedIncident",
    "place_alert",
    "raise_priority",
    "worse_impact",
]

_IMPACT_ORDER = {Impact.NONE: 0, Impact.DEGRADED: 1, Impact.OUTAGE: 2}


class Placement(StrEnum):
    ATTACH = "attach"  # to the group's active incident
    REOPEN = "reopen"  # the group's incident resolved within the reopen window: a flap
    OPEN = "open"  # a new incident
    RECORD_ONLY = "record_only"  # the alert's level opens no incident


@dataclass(frozen=True, slots=True)
class ResolvedIncident:
    id: int
    resolved_at: datetime


@dataclass(frozen=True, slots=True)
class Decision:
    placement: Placement
    incident_id: int | None = None


def place_alert(
    *,
    opens_incident: bool,
    starts_at: datetime,
    active_incident_id: int | None,
    last_resolved: ResolvedIncident | None,
    reopen_window: timedelta,
) -> Decision:
    """Decide for one firing alert of a group; `starts_at` is when it began firing."""
    if not opens_incident:
        return Decision(Placement.RECORD_ONLY)
    if active_incident_id is not None:
        return Decision(Placement.ATTACH, active_incident_id)
    if last_resolved is not None and starts_at - last_resolved.resolved_at <= reopen_window:
        return Decision(Placement.REOPEN, last_resolved.id)
    return Decision(Placement.OPEN)


def raise_priority(current: str, candidate: str, ranks: dict[str, int]) -> str:
    """The more urgent of two priorities (rank 0 is the most urgent); never lowers."""
    return candidate if ranks[candidate] < ranks[current] else current


def worse_impact(current: Impact, candidate: Impact) -> Impact:
    """The worse of two impacts: outage, then degraded, then none."""
    return candidate if _IMPACT_ORDER[candidate] > _IMPACT_ORDER[current] else current
