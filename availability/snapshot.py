"""What /metrics shows, read from the database in two parts of different cost.

- `live_figures`: each service's state now, its downtime counter and its open incidents.
  It reads only the windows of the last hour or so (since the counters' checkpoints), so it
  runs at every scrape.
- `period_figures`: availability and error budget over this month and the last 30 days.
  It reads a month of windows (100,000 of them take a few hundred milliseconds), so the
  collector recomputes it in the background and a scrape shows the latest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from availability import downtime, store
from availability.live import (
    SETTLE_US,
    CounterState,
    CounterUpdate,
    CurrentState,
    WindowFigures,
    advance_counters,
    service_states,
    window_figures,
)
from availability.periods import EPOCH, Period, month_to_date, to_micros
from availability.service import TICK, impact_windows, known_service_names
from rules.policy import RuleFile

__all__ = [
    "ROLLING",
    "CounterChanges",
    "LiveFigures",
    "PeriodFigures",
    "live_figures",
    "period_figures",
]

ROLLING = timedelta(days=30)

Array = np.ndarray[Any, np.dtype[Any]]


@dataclass(frozen=True, eq=False)
class CounterChanges:
    """The downtime counters as read and as computed."""

    services: list[str]
    before: CounterState
    after: CounterUpdate
    missing: np.ndarray[Any, np.dtype[np.bool_]]

    @property
    def pending(self) -> bool:
        return downtime.counters_changed(self.before, self.after, self.missing)

    def save(self, session: Session) -> None:
        """Write them (in a write transaction of the caller's)."""
        downtime.save_counters(session, self.services, self.before, self.after, self.missing)


@dataclass(frozen=True, eq=False)
class LiveFigures:
    """Every known service now (in the order of `services`)."""

    services: list[str]
    states: list[CurrentState]
    downtime_us: np.ndarray[Any, np.dtype[np.int64]]  # the downtime counter
    open_incidents: pd.DataFrame  # service, priority, state, count
    counters: CounterChanges  # to save before `downtime_us` is shown


@dataclass(frozen=True, eq=False)
class PeriodFigures:
    """Every known service's figures over its windows (in the order of `services`)."""

    services: list[str]
    targets: np.ndarray[Any, np.dtype[np.float64]]
    month: WindowFigures  # the calendar month to date, in the service's time zone
    rolling: WindowFigures  # the last 30 days


def live_figures(session: Session, *, rules: RuleFile, now: datetime) -> LiveFigures:
    """States, downtime counters and open incidents now. Reads only: the counters' changes
    are returned for the caller to save before it shows them."""
    names = known_service_names(session, rules=rules)
    now_us = to_micros(now)
    counters, missing = downtime.load_counters(session, names, start_us=now_us - SETTLE_US)
    since = _instant(min([now_us - 1, *counters.settled_through]))
    outage, degraded, maintenance = impact_windows(
        session, rules, names, [Period(since, now + TICK)] * len(names), now=now
    )
    counted = advance_counters(counters, outage, maintenance, now_us=now_us)
    return LiveFigures(
        services=names,
        states=service_states(outage, degraded, maintenance, n=len(names), now_us=now_us),
        downtime_us=counted.value,
        open_incidents=store.open_incident_counts(session),
        counters=CounterChanges(names, counters, counted, missing),
    )


def period_figures(session: Session, *, rules: RuleFile, now: datetime) -> PeriodFigures:
    """Availability and error budget left, this month and over the last 30 days."""
    names = known_service_names(session, rules=rules)
    now_us = to_micros(now)
    month_starts = np.array(_month_starts(rules, names, now), dtype=np.int64)
    rolling_starts = np.full(len(names), to_micros(now - ROLLING), dtype=np.int64)
    since = _instant(min([now_us - 1, *month_starts.tolist(), *rolling_starts.tolist()]))
    outage, degraded, maintenance = impact_windows(
        session, rules, names, [Period(since, now + TICK)] * len(names), now=now
    )
    targets = np.array([rules.service(name).target_ratio for name in names], dtype=np.float64)

    def over(starts: Array) -> WindowFigures:
        return window_figures(
            outage,
            degraded,
            maintenance,
            starts=starts,
            now_us=now_us,
            targets=targets,
            degraded_weight=rules.degraded_weight,
        )

    return PeriodFigures(names, targets, over(month_starts), over(rolling_starts))


def _instant(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(micros))


def _month_starts(rules: RuleFile, names: list[str], now: datetime) -> list[int]:
    by_zone: dict[ZoneInfo, int] = {}
    starts = []
    for name in names:
        zone = rules.service(name).timezone
        if zone not in by_zone:
            by_zone[zone] = to_micros(month_to_date(zone, now=now).start)
        starts.append(by_zone[zone])
    return starts
