"""Service credits: the share of the monthly fee a month's availability earns back.

A credit policy (`rules.policy.CreditPolicy`) lists tiers of (below_ratio, credit_ratio),
highest `below` first, the credit never decreasing as `below` falls. A ratio earns the
credit of the lowest tier it falls strictly below, capped at `max_ratio`; above every tier
it earns nothing. So the credit never rises with availability and lies in [0, max_ratio].
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rules.policy import CreditPolicy

__all__ = ["credit_ratio", "credit_ratios"]


def credit_ratio(availability_ratio: float, policy: CreditPolicy) -> float:
    """The share of the monthly fee credited (0..policy.max_ratio) for `availability_ratio`.

    Raises ValueError for a ratio outside [0, 1] (or NaN).
    """
    if math.isnan(availability_ratio) or not 0 <= availability_ratio <= 1:
        raise ValueError(f"availability_ratio must lie in [0, 1], got {availability_ratio}")
    earned = 0.0
    # Tiers run from the highest `below` down: the last one the ratio is under is the lowest.
    for below, credit in policy.tiers:
        if availability_ratio < below:
            earned = credit
    return min(earned, policy.max_ratio)


def credit_ratios(
    availability_ratio: ArrayLike, policies: Sequence[CreditPolicy]
) -> NDArray[np.float64]:
    """`credit_ratio` of each service: one ratio and one policy per service."""
    ratios = np.asarray(availability_ratio, dtype=np.float64).reshape(-1)
    if len(ratios) != len(policies):
        raise ValueError(
            f"one policy per ratio: got {len(ratios)} ratios and {len(policies)} policies"
        )
    return np.array(
        [credit_ratio(float(r), p) for r, p in zip(ratios, policies, strict=True)],
        dtype=np.float64,
    )
