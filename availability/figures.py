"""Availability figures from measured times, for one service or many at once.

With T the period, M maintenance, D downtime and G degraded time (all in microseconds,
measured by `availability.intervals.measure`), w the degraded weight and `target` the
target ratio:

    availability     = (T - M - D - w·G) / (T - M)     (1.0 when T - M == 0)
    error budget     = (1 - target) × (T - M), rounded to whole microseconds
    budget remaining = error budget - D - w·G          (negative once overspent)
    warranty days    = ceil(D / 24 h)
    met              = availability >= target
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import ArrayLike, NDArray

from availability.periods import Period

__all__ = ["Availability", "AvailabilityTable", "availability_of", "availability_table"]

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


@dataclass(frozen=True, eq=False)
class AvailabilityTable:
    """The figures of n services, one array entry per service.

    `error_budget_us` is int64; `error_budget_remaining_us` is float64 because weighted
    degraded time may be a fraction of a microsecond.
    """

    availability_ratio: NDArray[np.float64]
    target_ratio: NDArray[np.float64]
    met: NDArray[np.bool_]
    error_budget_us: NDArray[np.int64]
    error_budget_remaining_us: NDArray[np.float64]
    warranty_extension_days: NDArray[np.int64]


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


def availability_table(
    total_us: ArrayLike,
    maintenance_us: ArrayLike,
    downtime_us: ArrayLike,
    degraded_us: ArrayLike,
    *,
    target_ratio: ArrayLike,
    degraded_weight: ArrayLike = 0.0,
) -> AvailabilityTable:
    """The figures of n services from their measured times (integer µs arrays of length n).

    `target_ratio` (in (0, 1)) and `degraded_weight` (in [0, 1]) are one number for all or
    one per service. Raises ValueError for negative times, times that do not fit in their
    period (M + D + G > T), or ratios out of range.
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
    target = _ratio("target_ratio", target_ratio, n, closed=False)
    weight = _ratio("degraded_weight", degraded_weight, n, closed=True)
    usable = total - maintenance
    if np.any(downtime + degraded > usable):
        raise ValueError("maintenance, downtime and degraded time exceed the period")

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
    )
    return Availability(
        service=service,
        start=period.start,
        end=period.end,
        total_seconds=total_us / MICROS_PER_SECOND,
        maintenance_seconds=maintenance_us / MICROS_PER_SECOND,
        downtime_seconds=downtime_us / MICROS_PER_SECOND,
        degraded_seconds=degraded_us / MICROS_PER_SECOND,
        availability_ratio=float(table.availability_ratio[0]),
        target_ratio=float(table.target_ratio[0]),
        met=bool(table.met[0]),
        error_budget_seconds=int(table.error_budget_us[0]) / MICROS_PER_SECOND,
        error_budget_remaining_seconds=float(table.error_budget_remaining_us[0])
        / MICROS_PER_SECOND,
        warranty_extension_days=int(table.warranty_extension_days[0]),
    )
