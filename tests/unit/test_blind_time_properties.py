"""Blind time and service credits, for all inputs: unknown time measured with the other
kinds, the unknown policies bracketing the figure, heartbeat gaps, monotone credits.

Cases are built in whole seconds and passed as microseconds, so a second-by-second brute
force is exact.
"""

from __future__ import annotations

import os
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from availability.credits import credit_ratio, credit_ratios
from availability.figures import availability_of, availability_table
from availability.gaps import heartbeat_gaps
from availability.intervals import Measured, Windows, measure
from availability.periods import Period
from rules.policy import NO_CREDITS, CreditPolicy
from tests.unit.test_availability_figures import NOVEMBER

S = 1_000_000
EXAMPLES = int(os.environ.get("SLAKEEPER_FUZZ_EXAMPLES", "60")) * 3

Interval = tuple[int, int, int]  # (group, start s, end s)
KINDS = ("outage", "degraded", "maintenance", "unknown")


def windows(intervals: list[Interval]) -> Windows:
    return Windows.from_lists(
        [g for g, _, _ in intervals],
        [s * S for _, s, _ in intervals],
        [e * S for _, _, e in intervals],
    )


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[tuple[int, int]], dict[str, list[Interval]]]:
    n = draw(st.integers(1, 3))
    periods = []
    for _ in range(n):
        start = draw(st.integers(0, 50))
        periods.append((start, start + draw(st.integers(0, 150))))
    window = st.tuples(st.integers(0, n - 1), st.integers(-20, 210), st.integers(-10, 100))
    kinds = {
        kind: [(g, s, s + length) for g, s, length in draw(st.lists(window, max_size=6))]
        for kind in KINDS
    }
    return periods, kinds


def measured(periods: list[tuple[int, int]], kinds: dict[str, list[Interval]]) -> Measured:
    return measure(
        np.array([start * S for start, _ in periods], dtype=np.int64),
        np.array([end * S for _, end in periods], dtype=np.int64),
        outage=windows(kinds["outage"]),
        degraded=windows(kinds["degraded"]),
        maintenance=windows(kinds["maintenance"]),
        unknown=windows(kinds["unknown"]),
    )


def seconds_of(segments: Windows, group: int) -> set[int]:
    chosen = segments.group == group
    return {
        t
        for s, e in zip(segments.start[chosen], segments.end[chosen], strict=True)
        for t in range(int(s) // S, int(e) // S)
    }


def covered(intervals: list[Interval], group: int, seconds: range) -> set[int]:
    return {t for t in seconds for g, s, e in intervals if g == group and s <= t < e}


@settings(max_examples=EXAMPLES, deadline=None)
@given(cases())
def test_unknown_time_is_blind_time_that_no_other_kind_explains(
    case: tuple[list[tuple[int, int]], dict[str, list[Interval]]],
) -> None:
    periods, kinds = case
    result = measured(periods, kinds)
    for group, (start, end) in enumerate(periods):
        seconds = range(start, end)
        maintenance = covered(kinds["maintenance"], group, seconds)
        down = covered(kinds["outage"], group, seconds) - maintenance
        degraded = covered(kinds["degraded"], group, seconds) - maintenance - down
        unknown = covered(kinds["unknown"], group, seconds) - maintenance - down - degraded
        assert seconds_of(result.unknown_segments, group) == unknown
        assert seconds_of(result.maintenance_segments, group) == maintenance
        assert seconds_of(result.downtime_segments, group) == down
        assert int(result.unknown[group]) == len(unknown) * S


@settings(max_examples=EXAMPLES, deadline=None)
@given(cases())
def test_every_kinds_segments_add_up_to_its_total_sorted_and_merged(
    case: tuple[list[tuple[int, int]], dict[str, list[Interval]]],
) -> None:
    periods, kinds = case
    result = measured(periods, kinds)
    n = len(periods)
    for total, segments in (
        (result.unknown, result.unknown_segments),
        (result.maintenance, result.maintenance_segments),
        (result.downtime, result.downtime_segments),
        (result.degraded, result.degraded_segments),
    ):
        per_group = np.zeros(n, dtype=np.int64)
        np.add.at(per_group, segments.group, segments.end - segments.start)
        assert per_group.tolist() == total.tolist()
        assert np.all(segments.end > segments.start)
        same = segments.group[1:] == segments.group[:-1]
        assert np.all(segments.group[1:] >= segments.group[:-1])
        assert np.all(~same | (segments.start[1:] > segments.end[:-1]))
    parts = result.maintenance + result.downtime + result.degraded + result.unknown
    assert np.all(parts <= result.total)


def test_without_unknown_windows_nothing_is_unknown() -> None:
    result = measure(
        np.array([0], dtype=np.int64),
        np.array([10 * S], dtype=np.int64),
        outage=windows([(0, 2, 4)]),
        degraded=Windows.empty(),
        maintenance=windows([(0, 3, 6)]),
    )
    assert result.unknown.tolist() == [0]
    assert len(result.unknown_segments) == 0
    assert result.maintenance_segments.start.tolist() == [3 * S]
    assert result.maintenance_segments.end.tolist() == [6 * S]


def ratios(result: Measured, policy: str, weight: float) -> NDArray[np.float64]:
    table = availability_table(
        result.total,
        result.maintenance,
        result.downtime,
        result.degraded,
        target_ratio=0.99,
        degraded_weight=weight,
        unknown_us=result.unknown,
        unknown_policy=policy,
    )
    return table.availability_ratio


@settings(max_examples=EXAMPLES, deadline=None)
@given(cases(), st.sampled_from([0.0, 0.25, 1.0]))
def test_the_unknown_policies_bracket_the_figure(
    case: tuple[list[tuple[int, int]], dict[str, list[Interval]]], weight: float
) -> None:
    result = measured(*case)
    down, excluded, up = (ratios(result, policy, weight) for policy in ("down", "excluded", "up"))
    assert np.all(down <= excluded + 1e-12)
    assert np.all(excluded <= up + 1e-12)
    # With no unknown time, the policy changes nothing.
    none = result.unknown == 0
    assert np.array_equal(down[none], up[none]) and np.array_equal(excluded[none], up[none])


def test_each_policy_counts_unknown_time_as_it_says() -> None:
    day = 86_400 * S

    def november(policy: str) -> tuple[float, float, int]:
        figures = availability_of(
            "payments",
            NOVEMBER,
            total_us=30 * day,
            maintenance_us=0,
            downtime_us=day,
            degraded_us=0,
            target_ratio=0.9,
            unknown_us=2 * day,
            unknown_policy=policy,
        )
        assert figures.unknown_seconds == 2 * 86_400
        assert figures.downtime_seconds == 86_400  # as measured, whatever the policy
        return (
            figures.availability_ratio,
            figures.error_budget_seconds,
            figures.warranty_extension_days,
        )

    assert november("up") == pytest.approx((29 / 30, 3 * 86_400, 1))
    assert november("down") == pytest.approx((27 / 30, 3 * 86_400, 3))
    assert november("excluded") == pytest.approx((27 / 28, 2.8 * 86_400, 1))


def test_a_policy_that_is_not_one_of_the_three_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown_policy must be one of up, down, excluded"):
        availability_table([10], [0], [0], [0], target_ratio=0.9, unknown_policy="maybe")
    with pytest.raises(ValueError, match="exceed the period"):
        availability_table([10], [2], [4], [2], target_ratio=0.9, unknown_us=[3])


# Credits


@st.composite
def credit_policies(draw: st.DrawFn) -> CreditPolicy:
    belows = sorted(set(draw(st.lists(st.integers(1, 1000), max_size=5))), reverse=True)
    credits = sorted(
        draw(st.lists(st.integers(0, 100), min_size=len(belows), max_size=len(belows)))
    )
    tiers = tuple((b / 1000, c / 100) for b, c in zip(belows, credits, strict=True))
    return CreditPolicy(tiers, max_ratio=draw(st.integers(0, 100)) / 100)


unit = st.floats(0, 1, allow_nan=False)


@settings(max_examples=EXAMPLES, deadline=None)
@given(credit_policies(), unit, unit)
def test_credits_never_rise_with_availability_and_stay_within_the_cap(
    policy: CreditPolicy, a: float, b: float
) -> None:
    worse, better = sorted((a, b))
    assert credit_ratio(worse, policy) >= credit_ratio(better, policy)
    for ratio in (worse, better):
        assert 0 <= credit_ratio(ratio, policy) <= policy.max_ratio


@settings(max_examples=EXAMPLES, deadline=None)
@given(credit_policies(), unit)
def test_the_credit_is_the_lowest_tier_the_ratio_falls_strictly_below(
    policy: CreditPolicy, ratio: float
) -> None:
    below = [credit for limit, credit in policy.tiers if ratio < limit]
    expected = min(below[-1], policy.max_ratio) if below else 0.0
    assert credit_ratio(ratio, policy) == expected
    assert credit_ratios([ratio], [policy]).tolist() == [expected]


def test_the_shipped_tiers_credit_5_10_and_25_percent() -> None:
    tiers = CreditPolicy(((0.995, 0.05), (0.99, 0.10), (0.95, 0.25)), max_ratio=0.25)
    assert [credit_ratio(r, tiers) for r in (1.0, 0.995, 0.9949, 0.99, 0.98, 0.5)] == [
        0.0,
        0.0,
        0.05,
        0.05,
        0.10,
        0.25,
    ]
    assert credit_ratio(0.2, CreditPolicy(tiers.tiers, max_ratio=0.15)) == 0.15
    assert credit_ratio(0.2, NO_CREDITS) == 0.0
    with pytest.raises(ValueError, match="availability_ratio"):
        credit_ratio(float("nan"), tiers)


# Heartbeat gaps


def spans_of(receipts: list[int], interval: int) -> list[tuple[int, int]]:
    """Spans as `collector.heartbeats.record_span` keeps them, receipts in order."""
    spans: list[list[int]] = []
    for at in receipts:
        if spans and at - spans[-1][1] <= interval:
            spans[-1][1] = at
        else:
            spans.append([at, at])
    return [(first, last) for first, last in spans]


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    st.lists(st.integers(0, 2000), max_size=30),
    st.integers(1, 120),
    st.integers(0, 300),
    st.randoms(use_true_random=False),
)
def test_heartbeat_gaps_are_the_long_silences_between_receipts_and_since_the_last(
    receipts: list[int], interval: int, after: int, shuffle: random.Random
) -> None:
    receipts = sorted(receipts)
    now = (receipts[-1] if receipts else 0) + after
    spans = spans_of(receipts, interval)
    # Replicas' spans may come in any order and overlap: the same receipts, written twice.
    doubled = spans + spans[: len(spans) // 2]
    shuffle.shuffle(doubled)
    first = np.array([f * S for f, _ in doubled], dtype=np.int64)
    last = np.array([la * S for _, la in doubled], dtype=np.int64)
    starts, ends = heartbeat_gaps(first, last, longer_than_us=interval * S, now_us=now * S)

    expected = [(a, b) for a, b in zip(receipts, receipts[1:], strict=False) if b - a > interval]
    if receipts and now - receipts[-1] > interval:
        expected.append((receipts[-1], now))
    assert sorted(zip((starts // S).tolist(), (ends // S).tolist(), strict=True)) == expected


def test_nothing_before_the_first_receipt_is_blind_and_receipts_ahead_count_at_now() -> None:
    nothing = np.empty(0, dtype=np.int64)
    assert [len(a) for a in heartbeat_gaps(nothing, nothing, longer_than_us=1, now_us=10)] == [0, 0]
    starts, ends = heartbeat_gaps(
        np.array([100], dtype=np.int64),
        np.array([500], dtype=np.int64),
        longer_than_us=50,
        now_us=300,
    )
    assert (starts.tolist(), ends.tolist()) == ([], [])
    with pytest.raises(ValueError, match="longer_than_us"):
        heartbeat_gaps(nothing, nothing, longer_than_us=-1, now_us=0)


def test_measuring_blind_time_in_a_period_clips_it_to_the_period() -> None:
    period = Period(NOVEMBER.start, NOVEMBER.end)
    start_us, end_us = period.to_micros()
    result = measure(
        np.array([start_us], dtype=np.int64),
        np.array([end_us], dtype=np.int64),
        outage=Windows.empty(),
        degraded=Windows.empty(),
        maintenance=Windows.empty(),
        unknown=Windows.from_lists([0], [start_us - 10 * S], [start_us + 5 * S]),
    )
    assert result.unknown.tolist() == [5 * S]
