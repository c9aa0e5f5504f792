"""An incident's two SLA clocks as a person reads them: running with time left, stopped in
time or late, or not measured (pure; `now` is passed in)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

__all__ = ["AMBER_SHARE", "ClockView", "ClockedIncident", "incident_clocks", "tone"]

# Under this share of its target left, a running clock turns amber.
AMBER_SHARE = 0.25


class ClockedIncident(Protocol):
    opened_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    response_due_at: datetime | None
    resolution_due_at: datetime | None
    response_breached: bool
    resolution_breached: bool


@dataclass(frozen=True, slots=True)
class ClockView:
    """One clock: `running` (left, negative once overdue), `stopped` (took, met or not), or
    `none` (no target applies yet, e.g. resolution measured from an acknowledgement)."""

    kind: str  # "response" or "resolution"
    status: str  # "running", "stopped", "none"
    due_at: datetime | None
    stopped_at: datetime | None
    left: timedelta | None
    took: timedelta | None
    met: bool | None
    tone: str  # "ok", "amber", "red"


def tone(left: timedelta, target: timedelta, breached: bool) -> str:
    """Red once breached or overdue, amber under AMBER_SHARE of the target left, else ok."""
    if breached or left <= timedelta(0):
        return "red"
    if target > timedelta(0) and left < target * AMBER_SHARE:
        return "amber"
    return "ok"


def incident_clocks(incident: ClockedIncident, now: datetime) -> tuple[ClockView, ClockView]:
    """The response clock (stopped by the acknowledgement, or a resolution before one) and the
    resolution clock (stopped by the resolution)."""
    responded = incident.acknowledged_at
    if incident.resolved_at is not None and (responded is None or incident.resolved_at < responded):
        responded = incident.resolved_at
    response = _clock(
        "response",
        incident.opened_at,
        incident.response_due_at,
        responded,
        incident.response_breached,
        now,
    )
    resolution = _clock(
        "resolution",
        incident.acknowledged_at or incident.opened_at,
        incident.resolution_due_at,
        incident.resolved_at,
        incident.resolution_breached,
        now,
    )
    return response, resolution


def _clock(
    kind: str,
    start: datetime,
    due: datetime | None,
    stopped: datetime | None,
    breached: bool,
    now: datetime,
) -> ClockView:
    if due is None:
        return ClockView(kind, "none", None, stopped, None, None, None, "ok")
    if stopped is not None:
        met = stopped <= due and not breached
        return ClockView(
            kind, "stopped", due, stopped, None, stopped - start, met, "ok" if met else "red"
        )
    left = due - now
    return ClockView(
        kind, "running", due, None, left, None, None, tone(left, due - start, breached)
    )
