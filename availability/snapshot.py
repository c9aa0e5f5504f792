"""What /metrics shows, read from the database in two parts of different cost.

- `live_figures`: each service's state now, its downtime and unknown-time counters and its
  open incidents. It reads only the windows of the last hour or so (since the counters'
  checkpoints), so it runs at every scrape.
- `period_figures`: availability and error budget over this month and the last 30 days,
  and the service credit this month has earned so far.
  It reads a month of windows (100,000 of them take a few hundred milliseconds), so the
  collector recomputes it in the background and a scrape shows the latest.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Table
from sqlalchemy.orm import Session

from availability import downtime, store
from availability.blind import blind_windows
from availability.credits import credit_ratios
from availability.intervals import Windows
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
from availability.models import DowntimeCounter, UnknownCounter
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


_DOWNTIME_COUNTERS = typing.cast(Table, DowntimeCounter.__table__)
_UNKNOWN_COUNTERS = typing.cast(Table, UnknownCounter.__table__)


@dataclass(frozen=True, eq=False)
class CounterChanges:
    """The counters of `table` (the downtime counters) as read and as computed, and
    `also` another table's (the unknown-time counters), saved with them."""

    services: list[str]
    before: CounterState
    after: CounterUpdate
    missing: np.ndarray[Any, np.dtype[np.bool_]]
    table: Table = _DOWNTIME_COUNTERS
    also: CounterChanges | None = None

    @property
    def pending(self) -> bool:
        changed = downtime.counters_changed(self.before, self.after, self.missing)
        return changed or (self.also is not None and self.also.pending)

    def save(self, session: Session) -> None:
        """Write them (in a write transaction of the caller's)."""
        downtime.save_counters(
            session, self.services, self.before, self.after, self.missing, table=self.table
        )
        if self.also is not None:
            self.also.save(session)


@dataclass(frozen=True, eq=False)
class LiveFigures:
    """Every known service now (in the order of `services`)."""

    services: list[str]
    states: list[CurrentState]
    downtime_us: np.ndarray[Any, np.dtype[np.int64]]  # the downtime counter
    open_incidents: pd.DataFrame  # service, priority, state, count
    counters: CounterChanges  # to save before `downtime_us` and `unknown_us` are shown
    unknown_us: np.ndarray[Any, np.dtype[np.int64]] | None = None  # the unknown-time counter


@dataclass(frozen=True, eq=False)
class PeriodFigures:
    """Every known service's figures over its windows (in the order of `services`)."""

    services: list[str]
    targets: np.ndarray[Any, np.dtype[np.float64]]
    month: WindowFigures  # the calendar month to date, in the service's time zone
    rolling: WindowFigures  # the last 30 days
    credit_ratio: np.ndarray[Any, np.dtype[np.float64]] | None = None  # this month's so far


def live_figures(session: Session, *, rules: RuleFile, now: datetime) -> LiveFigures:
    """States, downtime counters and open incidents now. Reads only: the counters' changes
    are returned for the caller to save before it shows them."""
    names = known_service_names(session, rules=rules)
    now_us = to_micros(now)
    counters, missing = downtime.load_counters(session, names, start_us=now_us - SETTLE_US)
    blind_counters, blind_missing = downtime.load_counters(
        session, names, start_us=now_us - SETTLE_US, table=_UNKNOWN_COUNTERS
    )
    through = [*counters.settled_through, *blind_counters.settled_through]
    periods = [Period(_instant(min([now_us - 1, *through])), now + TICK)] * len(names)
    outage, degraded, maintenance = impact_windows(session, rules, names, periods, now=now)
    counted = advance_counters(counters, outage, maintenance, now_us=now_us)
    # Unknown time is blind time that is neither maintenance, outage nor degraded time.
    blind = blind_windows(session, heartbeat=rules.heartbeat, periods=periods, now=now)
    known = _joined(maintenance, outage, degraded)
    unknown = advance_counters(blind_counters, blind, known, now_us=now_us)
    return LiveFigures(
        services=names,
        states=service_states(outage, degraded, maintenance, n=len(names), now_us=now_us),
        downtime_us=counted.value,
        open_incidents=store.open_incident_counts(session),
        counters=CounterChanges(
            names,
            counters,
            counted,
            missing,
            also=CounterChanges(
                names, blind_counters, unknown, blind_missing, table=_UNKNOWN_COUNTERS
            ),
        ),
        unknown_us=unknown.value,
    )


def _joined(*parts: Windows) -> Windows:
    return Windows(
        np.concatenate([part.group for part in parts]),
        np.concatenate([part.start for part in parts]),
        np.concatenate([part.end for part in parts]),
    )


def period_figures(session: Session, *, rules: RuleFile, now: datetime) -> PeriodFigures:
    """Availability and error budget left, this month and over the last 30 days."""
    names = known_service_names(session, rules=rules)
    now_us = to_micros(now)
    month_starts = np.array(_month_starts(rules, names, now), dtype=np.int64)
    rolling_starts = np.full(len(names), to_micros(now - ROLLING), dtype=np.int64)
    since = _instant(min([now_us - 1, *month_starts.tolist(), *rolling_starts.tolist()]))
    periods = [Period(since, now + TICK)] * len(names)
    outage, degraded, maintenance = impact_windows(session, rules, names, periods, now=now)
    blind = blind_windows(session, heartbeat=rules.heartbeat, periods=periods, now=now)
    policies = [rules.service(name) for name in names]
    targets = np.array([policy.target_ratio for policy in policies], dtype=np.float64)

    def over(starts: Array) -> WindowFigures:
        return window_figures(
            outage,
            degraded,
            maintenance,
            starts=starts,
            now_us=now_us,
            targets=targets,
            degraded_weight=rules.degraded_weight,
            unknown=blind,
            unknown_policy=[policy.unknown_policy for policy in policies],
        )

    month = over(month_starts)
    credits = credit_ratios(month.availability_ratio, [policy.credits for policy in policies])
    return PeriodFigures(names, targets, month, over(rolling_starts), credits)


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
