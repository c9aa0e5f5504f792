"""Percentiles of measured samples."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["percentile"]


def percentile(values: Sequence[float], share: float) -> float:
    """The value at `share` (0.99 for p99) of the way through the sorted `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]
