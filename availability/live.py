"""Service-level figures as they stand now: this month, the last 30 days, the state of each
service, and the downtime counter. Pure arithmetic over windows; `now` is passed in.

The downtime counter (`slakeeper_service_downtime_seconds_total`) must never go down, yet
the windows it is measured from change after the fact: a resolved notification arrives
minutes after the alert's end, a person lowers an incident's impact, maintenance is
entered for the past hour. So the counter is kept in two parts, persisted per service:
downtime settled up to a checkpoint `SETTLE` behind now (never measured again), plus the
downtime measured live since the checkpoint; and the value exported is never less than the
highest value exported before. A later correction that lowers the live part holds the
counter still until the downtime measured catches up with it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from availability.figures import availability_table
from availability.intervals import Measured, Windows, measure

__all__ = [
    "ADVANCE_US",
    "SETTLE_US",
    "CounterState",
    "CounterUpdate",
    "CurrentState",
    "WindowFigures",
    "advance_counters",
    "service_states",
    "window_figures",
]

Micros = NDArray[np.int64]

# Downtime older than this is settled: late notifications and corrections no longer move it.
SETTLE_US = 3600 * 1_000_000
# The checkpoint moves once it lags `SETTLE_US + ADVANCE_US` behind now, so settling is a
# write every ten minutes, not every scrape.
ADVANCE_US = 600 * 1_000_000


class CurrentState(StrEnum):
    """A service at an instant, in order of precedence."""

    MAINTENANCE = "maintenance"  # in a maintenance window: nothing counts against it
    DOWN = "down"  # an outage outside maintenance
    DEGRADED = "degraded"
    UP = "up"


@dataclass(frozen=True, eq=False)
class WindowFigures:
    """Availability and the share of error budget left, per service, over one window."""

    availability_ratio: NDArray[np.float64]
    budget_remaining_ratio: NDArray[np.float64]


def window_figures(
    outage: Windows,
    degraded: Windows,
    maintenance: Windows,
    *,
    starts: Micros,
    now_us: int,
    targets: NDArray[np.float64],
    degraded_weight: float,
    unknown: Windows | None = None,
    unknown_policy: str | Sequence[str] = "up",
) -> WindowFigures:
    """The figures of each service over [starts[i], now), blind time (`unknown`) counted
    per each service's `unknown_policy` (`availability.figures`).

    The budget left is (budget - downtime - weighted degraded time) / budget, negative once
    overspent, and 1 when there is no time to measure yet (all of it maintenance, say).
    """
    ends = np.full(len(starts), now_us, dtype=np.int64)
    measured = measure(
        starts, ends, outage=outage, degraded=degraded, maintenance=maintenance, unknown=unknown
    )
    table = availability_table(
        measured.total,
        measured.maintenance,
        measured.downtime,
        measured.degraded,
        target_ratio=targets,
        degraded_weight=degraded_weight,
        unknown_us=measured.unknown,
        unknown_policy=unknown_policy,
    )
    # The exact budget, not the whole microseconds of the report: a ratio must not jump
    # between rounding steps at the start of a month.
    budget = (1.0 - table.target_ratio) * (measured.total - table.counted_maintenance_us)
    lost = table.counted_downtime_us + degraded_weight * measured.degraded
    left = np.divide(budget - lost, budget, out=np.ones(len(starts)), where=budget > 0)
    return WindowFigures(table.availability_ratio, left)


def service_states(
    outage: Windows, degraded: Windows, maintenance: Windows, *, n: int, now_us: int
) -> list[CurrentState]:
    """Each service's state at `now` (the microsecond before it: windows are half-open and
    open ones end at now)."""
    starts = np.full(n, now_us - 1, dtype=np.int64)
    ends = np.full(n, now_us, dtype=np.int64)
    measured = measure(starts, ends, outage=outage, degraded=degraded, maintenance=maintenance)
    states = []
    for in_maintenance, down, impaired in zip(
        measured.maintenance > 0, measured.downtime > 0, measured.degraded > 0, strict=True
    ):
        if in_maintenance:
            states.append(CurrentState.MAINTENANCE)
        elif down:
            states.append(CurrentState.DOWN)
        elif impaired:
            states.append(CurrentState.DEGRADED)
        else:
            states.append(CurrentState.UP)
    return states


@dataclass(frozen=True, eq=False)
class CounterState:
    """The persisted part of each service's downtime counter (µs, arrays of length n)."""

    settled_through: Micros
    settled: Micros
    exported: Micros

    def __post_init__(self) -> None:
        sizes = {len(self.settled_through), len(self.settled), len(self.exported)}
        if len(sizes) != 1:
            raise ValueError("settled_through, settled and exported must have the same length")


@dataclass(frozen=True, eq=False)
class CounterUpdate:
    """What to export and what to persist.

    `value` is the counter now. Where `advance` is set the checkpoint moves to
    `settled_through` with `settled`; where `value` exceeds the stored `exported` that
    high-water mark must be raised before the value is shown.
    """

    value: Micros
    advance: NDArray[np.bool_]
    settled_through: Micros
    settled: Micros


def advance_counters(
    state: CounterState, outage: Windows, maintenance: Windows, *, now_us: int
) -> CounterUpdate:
    """The counters at `now` and their new checkpoints.

    Downtime is measured from each service's checkpoint to now (a checkpoint in the future,
    written by a replica whose clock runs ahead, measures nothing).
    """
    n = len(state.settled)
    starts = np.minimum(state.settled_through, now_us)
    ends = np.full(n, now_us, dtype=np.int64)
    live: Measured = measure(
        starts, ends, outage=outage, degraded=Windows.empty(), maintenance=maintenance
    )
    value = np.maximum(state.settled + live.downtime, state.exported)
    advance = starts < now_us - SETTLE_US - ADVANCE_US
    through = np.where(advance, now_us - SETTLE_US, state.settled_through)
    settled = state.settled + _downtime_before(live.downtime_segments, through, n)
    return CounterUpdate(
        value=value,
        advance=advance,
        settled_through=through,
        settled=np.where(advance, settled, state.settled),
    )


def _downtime_before(segments: Windows, until: Micros, n: int) -> Micros:
    """Per service, the length of its segments before `until[service]`."""
    clipped = (np.minimum(segments.end, until[segments.group]) - segments.start).clip(min=0)
    total = np.zeros(n, dtype=np.int64)
    np.add.at(total, segments.group, clipped)
    return total
