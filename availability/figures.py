"""Availability figures from measured times, for one service or many at once.

With T the period, M maintenance, D downtime, G degraded time and U unknown (blind) time,
all in microseconds and disjoint (measured by `availability.intervals.measure`), w the
degraded weight, `target` the target ratio, and the service's unknown policy first applied:

    up        D' = D,       M' = M            (blind time counts as available)
    down      D' = D + U,   M' = M            (blind time counts as downtime)
    excluded  D' = D,       M' = M + U        (out of the total, like maintenance)

    availability     = (T - M' - D' - w·G) / (T - M')     (1.0 when T - M' == 0)
    error budget     = (1 - target) × (T - M'), rounded to whole microseconds
    budget remaining = error budget - D' - w·G            (negative once overspent)
    warranty days    = ceil(D' / 24 h)
    met              = availability >= target
    credit           = `availability.credits.credit_ratio(availability, credit policy)`

Degraded time under blind time stays degraded time (an alert said so: that is known) and is
not unknown. Since U is then neither maintenance, downtime nor degraded time, for every
service availability as down <= as excluded <= as up. `downtime_seconds`, `maintenance_seconds`
and `unknown_seconds` report D, M and U as measured; only the figures use D' and M'.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import ArrayLike, NDArray

from availability.credits import credit_ratio
from availability.periods import Period
from rules.policy import NO_CREDITS, CreditPolicy

__all__ = [
    "UNKNOWN_POLICIES",
    "Availability",
    "AvailabilityTable",
    "availability_of",
    "availability_table",
]

UNKNOWN_POLICIES = ("up", "down", "excluded")

MICROS_PER_SECOND = 1_000_000
MICROS_PER_DAY = 86_400 * MICROS_PER_SECOND


@dataclass(frozen=True)
class Availability:
    """The availability figures of one service over one period (seconds as floats)."""

    service: str
    start: datetime
    end: datetime
    total_seconds: float
    maintenance_seconds: float
    downtime_seconds: float
    degraded_seconds: float
    availability_ratio: float
    target_ratio: float
    met: bool
    error_budget_seconds: float
    error_budget_remaining_seconds: float
    warranty_extension_days: int
    unknown_seconds: float = 0.0
    unknown_policy: str = "up"
    credit_ratio: float = 0.0


@dataclass(frozen=True, eq=False)
class AvailabilityTable:
    """The figures of n services, one array entry per service.

    `error_budget_us` is int64; `error_budget_remaining_us` is float64 because weighted
    degraded time may be a fraction of a microsecond. `counted_downtime_us` and
    `counted_maintenance_us` are D' and M', the unknown policy applied.
    """

    availability_ratio: NDArray[np.float64]
    target_ratio: NDArray[np.float64]
    met: NDArray[np.bool_]
    error_budget_us: NDArray[np.int64]
    error_budget_remaining_us: NDArray[np.float64]
    warranty_extension_days: NDArray[np.int64]
    counted_downtime_us: NDArray[np.int64]
    counted_maintenance_us: NDArray[np.int64]


def _micros(name: str, values: ArrayLike) -> NDArray[np.int64]:
    array = np.asarray(values)
    if array.size and array.dtype.kind not in "iu":
        raise ValueError(f"{name} must be integer microseconds, got dtype {array.dtype}")
    array = array.astype(np.int64, copy=False).reshape(-1)
    if len(array) and array.min() < 0:
        raise ValueError(f"{name} must not be negative")
    return array


def _ratio(name: str, values: ArrayLike, n: int, *, closed: bool) -> NDArray[np.float64]:
    array = np.broadcast_to(np.asarray(values, dtype=np.float64), (n,))
    inside = (array >= 0) & (array <= 1) if closed else (array > 0) & (array < 1)
    if not np.all(inside):
        interval = "[0, 1]" if closed else "(0, 1)"
        bad = array[~inside][0]
        raise ValueError(f"{name} must lie in {interval}, got {bad}")
    return array


def _policies(values: str | Sequence[str], n: int) -> NDArray[np.str_]:
    array = np.broadcast_to(np.asarray(values, dtype=np.str_), (n,))
    known = np.isin(array, UNKNOWN_POLICIES)
    if not np.all(known):
        expected = ", ".join(UNKNOWN_POLICIES)
        raise ValueError(f"unknown_policy must be one of {expected}, got {array[~known][0]!r}")
    return array


def availability_table(
    total_us: ArrayLike,
    maintenance_us: ArrayLike,
    downtime_us: ArrayLike,
    degraded_us: ArrayLike,
    *,
    target_ratio: ArrayLike,
    degraded_weight: ArrayLike = 0.0,
    unknown_us: ArrayLike = 0,
    unknown_policy: str | Sequence[str] = "up",
) -> AvailabilityTable:
    """The figures of n services from their measured times (integer µs arrays of length n).

    `target_ratio` (in (0, 1)), `degraded_weight` (in [0, 1]), `unknown_us` and
    `unknown_policy` ("up", "down" or "excluded") are one value for all or one per service.
    Raises ValueError for negative times, times that do not fit in their period
    (M + D + G + U > T), ratios out of range or an unknown policy.
    """
    total = _micros("total_us", total_us)
    maintenance = _micros("maintenance_us", maintenance_us)
    downtime = _micros("downtime_us", downtime_us)
    degraded = _micros("degraded_us", degraded_us)
    n = len(total)
    if {len(maintenance), len(downtime), len(degraded)} != {n}:
        raise ValueError(
            "total_us, maintenance_us, downtime_us and degraded_us must have the same length"
        )
    unknown = _micros("unknown_us", unknown_us)
    if len(unknown) not in (1, n):
        raise ValueError(f"unknown_us must be one value or {n}, got {len(unknown)}")
    unknown = np.broadcast_to(unknown, (n,))
    policy = _policies(unknown_policy, n)
    target = _ratio("target_ratio", target_ratio, n, closed=False)
    weight = _ratio("degraded_weight", degraded_weight, n, closed=True)
    if np.any(downtime + degraded + unknown > total - maintenance):
        raise ValueError("maintenance, downtime, degraded and unknown time exceed the period")

    downtime = downtime + np.where(policy == "down", unknown, 0)
    maintenance = maintenance + np.where(policy == "excluded", unknown, 0)
    usable = total - maintenance
    lost = downtime + weight * degraded
    has_time = usable > 0
    ratio = np.divide(usable - lost, usable, out=np.ones(n), where=has_time)
    budget = np.rint((1.0 - target) * usable).astype(np.int64)
    remaining = np.where(has_time, budget - lost, 0.0)
    # Ceiling division in integers: exact, where D / 86400e6 in floats would not be.
    warranty = -(-downtime // MICROS_PER_DAY)
    return AvailabilityTable(
        availability_ratio=ratio,
        target_ratio=target,
        met=ratio >= target,
        error_budget_us=budget,
        error_budget_remaining_us=remaining,
        warranty_extension_days=warranty,
        counted_downtime_us=downtime,
        counted_maintenance_us=maintenance,
    )


def availability_of(
    service: str,
    period: Period,
    *,
    total_us: int,
    maintenance_us: int,
    downtime_us: int,
    degraded_us: int,
    target_ratio: float,
    degraded_weight: float = 0.0,
    unknown_us: int = 0,
    unknown_policy: str = "up",
    credits: CreditPolicy = NO_CREDITS,
) -> Availability:
    """The figures of one service over `period` from its measured times in µs.

    Raises ValueError if `total_us` is not the period's length, or as `availability_table`.
    """
    start_us, end_us = period.to_micros()
    if total_us != end_us - start_us:
        raise ValueError(
            f"total_us ({total_us}) must be the period's length ({end_us - start_us} µs)"
        )
    table = availability_table(
        [total_us],
        [maintenance_us],
        [downtime_us],
        [degraded_us],
        target_ratio=target_ratio,
        degraded_weight=degraded_weight,
        unknown_us=[unknown_us],
        unknown_policy=unknown_policy,
    )
    ratio = float(table.availability_ratio[0])
    return Availability(
        service=service,
        start=period.start,
        end=period.end,
        total_seconds=total_us / MICROS_PER_SECOND,
        maintenance_seconds=maintenance_us / MICROS_PER_SECOND,
        downtime_seconds=downtime_us / MICROS_PER_SECOND,
        degraded_seconds=degraded_us / MICROS_PER_SECOND,
        availability_ratio=ratio,
        target_ratio=float(table.target_ratio[0]),
        met=bool(table.met[0]),
        error_budget_seconds=int(table.error_budget_us[0]) / MICROS_PER_SECOND,
        error_budget_remaining_seconds=float(table.error_budget_remaining_us[0])
        / MICROS_PER_SECOND,
        warranty_extension_days=int(table.warranty_extension_days[0]),
        unknown_seconds=unknown_us / MICROS_PER_SECOND,
        unknown_policy=unknown_policy,
        credit_ratio=credit_ratio(ratio, credits),
    )
