"""Interval arithmetic for many services at once, vectorised with numpy.

Contract:

- Time is int64 microseconds since the Unix epoch (UTC). An interval is half-open,
  [start, end); one with end <= start is empty and counts for nothing.
- A `Windows` holds intervals of many services: `group[i]` is the index (0..n-1) of the
  service that interval i belongs to. Windows of one group may overlap; overlaps count once.
- `measure` takes one period per service (services live in different time zones, so their
  months start at different instants), clips every window to its own group's period and
  returns per service: the period's length, the maintenance time, the downtime (outage not
  under maintenance), the degraded time (degraded, neither outage nor maintenance) and the
  unknown time (blind, neither maintenance, outage nor degraded: an alert that says a
  service is degraded is knowledge, even while slakeeper is otherwise blind), with the
  maintenance, downtime, degraded and unknown segments themselves. The four sets are
  disjoint, so M + D + G + U <= T for every service.
- Nothing loops in Python over windows or services: one sort and one sweep over all
  boundaries. Open-ended windows (still firing) must be closed with `now` by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["Measured", "Micros", "Windows", "measure", "total_per_bucket", "union", "union_length"]

Micros = NDArray[np.int64]
"""Instants or lengths in microseconds (instants since the Unix epoch, UTC)."""


def _check_micros(name: str, values: NDArray[np.generic]) -> None:
    """Refuse anything but a one-dimensional int64 array."""
    if values.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {values.shape}")
    if values.dtype != np.int64:
        raise ValueError(f"{name} must have dtype int64, got {values.dtype}")


def _read_only(values: Micros) -> Micros:
    """A read-only view, so a frozen dataclass is not changed through its arrays."""
    view = values.view()
    view.flags.writeable = False
    return view


# eq=False: the generated __eq__ would compare arrays element-wise and fail on `bool()`.
@dataclass(frozen=True, eq=False)
class Windows:
    """Intervals [start[i], end[i]) of service `group[i]`, as int64 arrays of one length.

    The arrays are kept as read-only views. Intervals with end <= start are allowed and
    empty; they are not required to be sorted or disjoint.
    """

    group: Micros
    start: Micros
    end: Micros

    def __post_init__(self) -> None:
        for name in ("group", "start", "end"):
            _check_micros(name, getattr(self, name))
            object.__setattr__(self, name, _read_only(getattr(self, name)))
        lengths = {len(self.group), len(self.start), len(self.end)}
        if len(lengths) != 1:
            raise ValueError(
                "group, start and end must have the same length, got "
                f"{len(self.group)}, {len(self.start)} and {len(self.end)}"
            )

    def __len__(self) -> int:
        return len(self.group)

    @classmethod
    def empty(cls) -> Windows:
        """No intervals at all."""
        nothing = np.empty(0, dtype=np.int64)
        return cls(nothing, nothing, nothing)

    @classmethod
    def from_lists(cls, group: Sequence[int], start: Sequence[int], end: Sequence[int]) -> Windows:
        """Build from plain sequences of ints (service index, start µs, end µs)."""
        return cls(
            np.asarray(group, dtype=np.int64).reshape(-1),
            np.asarray(start, dtype=np.int64).reshape(-1),
            np.asarray(end, dtype=np.int64).reshape(-1),
        )

    def lengths(self) -> Micros:
        """Each interval's length, 0 for the empty ones."""
        return (self.end - self.start).clip(min=0)


@dataclass(frozen=True, eq=False)
class Measured:
    """What `measure` found, per service (arrays of length n, in microseconds).

    `total` is the period's length; `maintenance` the union of maintenance windows in the
    period; `downtime` the union of outage windows in the period minus maintenance;
    `degraded` the union of degraded windows in the period minus outage and maintenance;
    `unknown` the union of blind windows in the period minus maintenance, outage and
    degraded. The `*_segments` are those sets themselves: disjoint, non-touching, non-empty
    intervals sorted by (group, start), whose lengths add up to the totals.
    """

    total: Micros
    maintenance: Micros
    downtime: Micros
    degraded: Micros
    downtime_segments: Windows
    degraded_segments: Windows
    unknown: Micros
    unknown_segments: Windows
    maintenance_segments: Windows


def union(starts: Micros, ends: Micros) -> tuple[Micros, Micros]:
    """The union of the intervals of one group: sorted, disjoint, non-touching intervals."""
    _check_micros("starts", starts)
    _check_micros("ends", ends)
    if len(starts) != len(ends):
        raise ValueError(
            f"starts and ends must have the same length, got {len(starts)} and {len(ends)}"
        )
    keep = ends > starts
    order = np.argsort(starts[keep], kind="stable")
    s, e = starts[keep][order], ends[keep][order]
    if len(s) == 0:
        return s, e
    reach = np.maximum.accumulate(e)
    # An interval opens a new run when it starts after everything before it has ended.
    opens = np.empty(len(s), dtype=bool)
    opens[0] = True
    opens[1:] = s[1:] > reach[:-1]
    first = np.flatnonzero(opens)
    last = np.append(first[1:] - 1, len(s) - 1)
    return s[first], reach[last]


def union_length(starts: Micros, ends: Micros) -> int:
    """The length of the union of the intervals of one group."""
    s, e = union(starts, ends)
    return int((e - s).sum())


def _clipped(windows: Windows, period_start: Micros, period_end: Micros) -> Windows:
    """`windows` clipped to their own group's period, without the empty ones."""
    n = len(period_start)
    if len(windows) and (windows.group.min() < 0 or windows.group.max() >= n):
        raise ValueError(f"window groups must lie in 0..{n - 1} (one period per group)")
    start = np.maximum(windows.start, period_start[windows.group])
    end = np.minimum(windows.end, period_end[windows.group])
    keep = end > start
    return Windows(windows.group[keep], start[keep], end[keep])


def _segments(group: Micros, start: Micros, end: Micros, chosen: NDArray[np.bool_]) -> Windows:
    """The chosen elementary segments, touching neighbours of one group merged.

    The elementary segments are non-empty and sorted by (group, start); two chosen ones
    that are consecutive among the chosen touch only if nothing lies between them.
    """
    g, s, e = group[chosen], start[chosen], end[chosen]
    if len(g) == 0:
        return Windows(g, s, e)
    opens = np.empty(len(g), dtype=bool)
    opens[0] = True
    opens[1:] = (g[1:] != g[:-1]) | (s[1:] != e[:-1])
    first = np.flatnonzero(opens)
    last = np.append(first[1:] - 1, len(g) - 1)
    return Windows(g[first], s[first], e[last])


def _by_group_then_time(group: Micros, time: Micros) -> NDArray[np.intp]:
    """The order that sorts events by (group, time); ties may come in any order."""
    if len(time) == 0:
        return np.empty(0, dtype=np.intp)
    earliest = int(time.min())
    width = int(time.max()) - earliest + 1
    if (int(group.max()) + 1) * width < 2**63:
        # One int64 key sorts several times faster than np.lexsort on two columns.
        return np.argsort(group * np.int64(width) + (time - earliest))
    return np.lexsort((time, group))


def _sum_per_group(group: Micros, values: Micros, n: int) -> Micros:
    """Sum `values` per group in exact int64; `group` is sorted."""
    bounds = np.searchsorted(group, np.arange(n + 1, dtype=np.int64), side="left")
    running = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(values, out=running[1:])
    return running[bounds[1:]] - running[bounds[:-1]]


def _period_lengths(period_start: Micros, period_end: Micros) -> Micros:
    """Each service's period length; ValueError for a bad array or a period ending early."""
    _check_micros("period_start", period_start)
    _check_micros("period_end", period_end)
    n = len(period_start)
    if len(period_end) != n:
        raise ValueError(
            f"period_start and period_end must have the same length, got {n} and {len(period_end)}"
        )
    total = period_end - period_start
    if n and total.min() < 0:
        raise ValueError(f"a period ends before it starts (service {int(np.argmin(total))})")
    return total


def _elementary_segments(
    kinds: Sequence[Windows],
) -> tuple[Micros, Micros, Micros, list[NDArray[np.bool_]]]:
    """The non-empty elementary segments between all boundaries, sorted by (group, start),
    and for each kind whether it covers each segment: one sort and one sweep."""
    sizes = [2 * len(k) for k in kinds]
    group = np.concatenate([np.concatenate([k.group, k.group]) for k in kinds])
    time = np.concatenate([np.concatenate([k.start, k.end]) for k in kinds])
    # One +1/-1 row per kind; every interval opens and closes inside its own group, so
    # each running sum is back to 0 where a group ends.
    depth = np.zeros((len(kinds), sum(sizes)), dtype=np.int32)
    offset = 0
    for row, size in enumerate(sizes):
        half = size // 2
        depth[row, offset : offset + half] = 1
        depth[row, offset + half : offset + size] = -1
        offset += size
    order = _by_group_then_time(group, time)
    group, time = group[order], time[order]
    np.cumsum(depth[:, order], axis=1, out=depth)

    # Elementary segment j runs from event j to event j + 1, in the state after event j.
    seg_group = group[:-1]
    seg_start, seg_end = time[:-1], time[1:]
    real = (group[1:] == seg_group) & (seg_end > seg_start)
    covered = [d[:-1][real] > 0 for d in depth]
    return seg_group[real], seg_start[real], seg_end[real], covered


def measure(
    period_start: Micros,
    period_end: Micros,
    *,
    outage: Windows,
    degraded: Windows,
    maintenance: Windows,
    unknown: Windows | None = None,
) -> Measured:
    """Maintenance, downtime, degraded and unknown time of n services, each over its own
    period (`unknown` are the blind windows; none when omitted).

    Service i's period is [period_start[i], period_end[i]); windows name their service by
    `group`. Raises ValueError for arrays of the wrong shape or dtype, a period ending
    before it starts, or a group outside 0..n-1.
    """
    total = _period_lengths(period_start, period_end)
    n = len(total)
    every = (outage, degraded, maintenance, Windows.empty() if unknown is None else unknown)
    kinds = [_clipped(w, period_start, period_end) for w in every]
    seg_group, seg_start, seg_end, (out, deg, maint, blind) = _elementary_segments(kinds)
    length = seg_end - seg_start
    down = out & ~maint
    degraded_only = deg & ~out & ~maint
    unknown_only = blind & ~deg & ~out & ~maint

    def per_group(chosen: NDArray[np.bool_]) -> Micros:
        return _sum_per_group(seg_group, np.where(chosen, length, 0), n)

    def segments(chosen: NDArray[np.bool_]) -> Windows:
        return _segments(seg_group, seg_start, seg_end, chosen)

    return Measured(
        total=total,
        maintenance=per_group(maint),
        downtime=per_group(down),
        degraded=per_group(degraded_only),
        downtime_segments=segments(down),
        degraded_segments=segments(degraded_only),
        unknown=per_group(unknown_only),
        unknown_segments=segments(unknown_only),
        maintenance_segments=segments(maint),
    )


def total_per_bucket(segments: Windows, edges: Micros) -> Micros:
    """Total length of `segments` (all groups together) inside each [edges[i], edges[i+1]).

    `edges` must be non-decreasing; the result has len(edges) - 1 entries. Segments that
    overlap (of different groups, say) each count in full; empty ones count for nothing.
    """
    _check_micros("edges", edges)
    if len(edges) and np.any(edges[1:] < edges[:-1]):
        raise ValueError("edges must be non-decreasing")
    if len(edges) < 2:
        return np.zeros(0, dtype=np.int64)
    keep = segments.end > segments.start
    starts, ends = segments.start[keep], segments.end[keep]
    # Sweep: how many segments cover each stretch between boundaries, and the covered
    # length accumulated up to each boundary. No partial sum exceeds the segments' total
    # length, so int64 overflows only if that total itself would.
    time = np.concatenate([starts, ends])
    step = np.concatenate([np.ones(len(starts), np.int64), np.full(len(ends), -1, np.int64)])
    order = np.argsort(time)
    time, covering = time[order], np.cumsum(step[order])
    covered = np.zeros(len(time), dtype=np.int64)
    np.cumsum(covering[:-1] * np.diff(time), out=covered[1:])
    # Covered length before each edge: up to the last boundary at or before it, plus the
    # stretch from that boundary to the edge at that boundary's depth.
    at = np.searchsorted(time, edges, side="right") - 1
    inside = at >= 0
    before = np.zeros(len(edges), dtype=np.int64)
    j = at[inside]
    before[inside] = covered[j] + covering[j] * (edges[inside] - time[j])
    return np.diff(before)
