"""A closed month's figures from its stored segments, before and after adjustments (pure).

A record keeps, per service, the measured sets as sorted disjoint [start, end) µs pairs:
`downtime` (outage not under maintenance), `maintenance`, `degraded` (neither outage nor
maintenance) and `unknown` (blind, neither maintenance nor outage). The figures follow
`availability.figures`, with the service's unknown policy applied first:

    up        D' = D,       M' = M
    down      D' = D + U,   M' = M
    excluded  D' = D,       M' = M + U      (out of the total, like maintenance)

An adjustment changes only the downtime set: `exclude` and `shorten` remove an interval from
it, `add` adds one (not where there was maintenance); what becomes downtime is no longer
unknown or degraded. `accept` replaces the basis by a change found since close; the other
adjustments then apply on the new basis, in order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from availability.figures import MICROS_PER_SECOND, availability_table

__all__ = [
    "Basis",
    "Change",
    "Figures",
    "Segments",
    "apply",
    "basis_of",
    "figures_of",
    "figures_of_many",
    "length",
    "subtract",
    "unite",
]

Segments = tuple[tuple[int, int], ...]
"""Sorted, disjoint, non-touching, non-empty [start, end) intervals in µs."""

REMOVING = ("exclude", "shorten")
ADDING = ("add",)


def unite(*parts: Iterable[Sequence[int]]) -> Segments:
    """The union of any intervals, as Segments."""
    pairs = sorted((int(start), int(end)) for part in parts for start, end in part if end > start)
    merged: list[list[int]] = []
    for start, end in pairs:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((start, end) for start, end in merged)


def subtract(segments: Segments, cut: Iterable[Sequence[int]]) -> Segments:
    """`segments` without the intervals of `cut`."""
    removed = unite(cut)
    result: list[tuple[int, int]] = []
    for start, end in segments:
        position = start
        for cut_start, cut_end in removed:
            if cut_end <= position or cut_start >= end:
                continue
            if cut_start > position:
                result.append((position, cut_start))
            position = max(position, cut_end)
            if position >= end:
                break
        if position < end:
            result.append((position, end))
    return tuple(result)


def length(segments: Segments) -> int:
    return sum(end - start for start, end in segments)


@dataclass(frozen=True, slots=True)
class Basis:
    """What a service's month figures are computed from."""

    start_us: int
    end_us: int
    downtime: Segments
    maintenance: Segments
    degraded: Segments
    unknown: Segments
    unknown_policy: str
    target_ratio: float
    degraded_weight: float


@dataclass(frozen=True, slots=True)
class Change:
    """One adjustment: `action` over [start_us, end_us), or `accept` of `basis`."""

    action: str
    start_us: int = 0
    end_us: int = 0
    basis: Basis | None = None


@dataclass(frozen=True, slots=True)
class Figures:
    total_us: int
    maintenance_us: int
    downtime_us: int
    degraded_us: int
    unknown_us: int
    counted_downtime_us: int  # D' (unknown counted per the policy)
    counted_maintenance_us: int  # M'
    availability_ratio: float
    met: bool
    error_budget_us: int
    error_budget_remaining_us: float


def basis_of(stored: dict[str, Any]) -> Basis:
    """The basis a record's `figures` (or a change's) were stored with."""
    segments = stored["segments"]

    def of(kind: str) -> Segments:
        return tuple((int(start), int(end)) for start, end in segments[kind])

    return Basis(
        start_us=int(stored["start_us"]),
        end_us=int(stored["end_us"]),
        downtime=of("downtime"),
        maintenance=of("maintenance"),
        degraded=of("degraded"),
        unknown=of("unknown"),
        unknown_policy=str(stored["unknown_policy"]),
        target_ratio=float(stored["target_ratio"]),
        degraded_weight=float(stored["degraded_weight"]),
    )


def apply(basis: Basis, changes: Sequence[Change]) -> Basis:
    """The basis after `changes` (accepts first replace it, then the others in order)."""
    current = basis
    for change in changes:
        if change.action == "accept" and change.basis is not None:
            current = change.basis
    for change in changes:
        start, end = max(change.start_us, current.start_us), min(change.end_us, current.end_us)
        clipped: Segments = ((start, end),) if end > start else ()
        if change.action in REMOVING:
            current = replace(current, downtime=subtract(current.downtime, clipped))
        elif change.action in ADDING:
            added = subtract(clipped, current.maintenance)
            current = replace(
                current,
                downtime=unite(current.downtime, added),
                degraded=subtract(current.degraded, added),
                unknown=subtract(current.unknown, added),
            )
    return current


def figures_of(basis: Basis) -> Figures:
    """The figures of a basis, its unknown policy applied."""
    return figures_of_many([basis])[0]


def figures_of_many(bases: Sequence[Basis]) -> list[Figures]:
    """`figures_of` for many bases at once (one vectorised `availability_table`)."""
    if not bases:
        return []
    total = [basis.end_us - basis.start_us for basis in bases]
    maintenance = [length(basis.maintenance) for basis in bases]
    downtime = [length(basis.downtime) for basis in bases]
    degraded = [length(basis.degraded) for basis in bases]
    unknown = [length(basis.unknown) for basis in bases]
    table = availability_table(
        total,
        maintenance,
        downtime,
        degraded,
        target_ratio=[basis.target_ratio for basis in bases],
        degraded_weight=[basis.degraded_weight for basis in bases],
        unknown_us=unknown,
        unknown_policy=[basis.unknown_policy for basis in bases],
    )
    return [
        Figures(
            total_us=total[i],
            maintenance_us=maintenance[i],
            downtime_us=downtime[i],
            degraded_us=degraded[i],
            unknown_us=unknown[i],
            counted_downtime_us=int(table.counted_downtime_us[i]),
            counted_maintenance_us=int(table.counted_maintenance_us[i]),
            availability_ratio=float(table.availability_ratio[i]),
            met=bool(table.met[i]),
            error_budget_us=int(table.error_budget_us[i]),
            error_budget_remaining_us=float(table.error_budget_remaining_us[i]),
        )
        for i in range(len(bases))
    ]


def seconds(micros: float) -> float:
    return micros / MICROS_PER_SECOND
