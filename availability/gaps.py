"""Blind time from heartbeat spans (pure): the gaps between receipts longer than allowed.

A heartbeat (Alertmanager's Watchdog, slakeeper's own scheduler) is stored as spans of
receipts, [first_at, last_at] each, receipts of one span at most the allowed interval apart.
The blind time is every gap between consecutive receipts longer than the interval, whole,
from the last receipt before it to the first after it, and the trailing gap from the last
receipt to now once it is longer than the interval. Before the first receipt nothing is
known, so nothing is blind. Spans may overlap and come in any order (several sources,
several replicas writing at once): the receipts of all of them together count.
"""

from __future__ import annotations

import numpy as np

from availability.intervals import Micros

__all__ = ["heartbeat_gaps"]


def heartbeat_gaps(
    first: Micros, last: Micros, *, longer_than_us: int, now_us: int
) -> tuple[Micros, Micros]:
    """The blind windows [start, end) left by spans [first[i], last[i]] of receipts (µs).

    Receipts after `now_us` (a clock running ahead) count as at `now_us`. Raises ValueError
    for a negative `longer_than_us` or arrays of different lengths.
    """
    if longer_than_us < 0:
        raise ValueError(f"longer_than_us must not be negative, got {longer_than_us}")
    if len(first) != len(last):
        raise ValueError(f"first and last differ in length: {len(first)} and {len(last)}")
    nothing = np.empty(0, dtype=np.int64)
    if len(first) == 0:
        return nothing, nothing
    first = np.minimum(np.asarray(first, dtype=np.int64), now_us)
    last = np.minimum(np.maximum(np.asarray(last, dtype=np.int64), first), now_us)
    order = np.argsort(first, kind="stable")
    first, last = first[order], last[order]
    heard_until = np.maximum.accumulate(last)
    # A gap opens after the receipts so far and closes at the next span's first receipt.
    gap_start, gap_end = heard_until[:-1], first[1:]
    blind = gap_end - gap_start > longer_than_us
    starts, ends = gap_start[blind], gap_end[blind]
    trailing = int(heard_until[-1])
    if now_us - trailing > longer_than_us:
        starts = np.append(starts, trailing)
        ends = np.append(ends, now_us)
    return starts.astype(np.int64), ends.astype(np.int64)
