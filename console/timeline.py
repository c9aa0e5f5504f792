"""A month's windows as bars on a line from the month's first to its last instant (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from availability.overview import MonthTimeline

__all__ = ["Bar", "month_bars"]


@dataclass(frozen=True, slots=True)
class Bar:
    """One window: its kind, where it starts and how wide it is in % of the month."""

    kind: str  # "downtime", "degraded", "maintenance"
    start: datetime
    end: datetime
    left: float
    width: float


def month_bars(timeline: MonthTimeline, month_start: datetime, month_end: datetime) -> list[Bar]:
    """The windows of `timeline`, positioned on [month_start, month_end); a window too short
    to see is drawn a tenth of a percent wide, so that it is not lost."""
    span = (month_end - month_start).total_seconds()
    bars = []
    for kind, windows in (
        ("maintenance", timeline.maintenance),
        ("degraded", timeline.degraded),
        ("downtime", timeline.downtime),
    ):
        for start, end in windows:
            left = (start - month_start).total_seconds() / span * 100
            width = max((end - start).total_seconds() / span * 100, 0.1)
            bars.append(Bar(kind, start, end, round(left, 3), round(width, 3)))
    return bars
