"""Vectorised interval arithmetic: unions, per-service measurement, per-bucket totals.

The property tests build cases in whole seconds and pass them as microseconds, so a
second-by-second brute force is exact.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from availability.intervals import (
    Measured,
    Micros,
    Windows,
    measure,
    total_per_bucket,
    union,
    union_length,
)

S = 1_000_000  # microseconds per second

Interval = tuple[int, int, int]  # (group, start s, end s)


@dataclass(frozen=True)
class Case:
    periods: list[tuple[int, int]]  # per group, in seconds
    outage: list[Interval]
    degraded: list[Interval]
    maintenance: list[Interval]


def windows(intervals: list[Interval]) -> Windows:
    return Windows.from_lists(
        [g for g, _, _ in intervals],
        [s * S for _, s, _ in intervals],
        [e * S for _, _, e in intervals],
    )


def measured(case: Case) -> Measured:
    return measure(
        np.array([start * S for start, _ in case.periods], dtype=np.int64),
        np.array([end * S for _, end in case.periods], dtype=np.int64),
        outage=windows(case.outage),
        degraded=windows(case.degraded),
        maintenance=windows(case.maintenance),
    )


def covers(intervals: list[Interval], group: int, second: int) -> bool:
    return any(g == group and s <= second < e for g, s, e in intervals)


def brute_force(case: Case) -> dict[str, list[set[int]]]:
    """For each group, the seconds that are maintenance, downtime and degraded."""
    found: dict[str, list[set[int]]] = {"maintenance": [], "downtime": [], "degraded": []}
    for group, (start, end) in enumerate(case.periods):
        seconds = range(start, end)
        maint = {t for t in seconds if covers(case.maintenance, group, t)}
        down = {t for t in seconds if covers(case.outage, group, t)} - maint
        degraded = {t for t in seconds if covers(case.degraded, group, t)} - maint - down
        found["maintenance"].append(maint)
        found["downtime"].append(down)
        found["degraded"].append(degraded)
    return found


def seconds_of(segments: Windows, group: int) -> set[int]:
    chosen = segments.group == group
    return {
        t
        for s, e in zip(segments.start[chosen], segments.end[chosen], strict=True)
        for t in range(int(s) // S, int(e) // S)
    }


@st.composite
def cases(draw: st.DrawFn, max_groups: int = 3) -> Case:
    n = draw(st.integers(1, max_groups))
    periods = []
    for _ in range(n):
        start = draw(st.integers(0, 50))
        periods.append((start, start + draw(st.integers(0, 200))))

    def some_windows() -> list[Interval]:
        # Windows reach before and after the periods; negative lengths make empty ones.
        window = st.tuples(st.integers(0, n - 1), st.integers(-20, 260), st.integers(-10, 120))
        return [(g, s, s + length) for g, s, length in draw(st.lists(window, max_size=8))]

    return Case(periods, some_windows(), some_windows(), some_windows())


@settings(max_examples=300, deadline=None)
@given(cases())
def test_measure_agrees_with_a_second_by_second_brute_force(case: Case) -> None:
    result = measured(case)
    expected = brute_force(case)
    assert result.total.tolist() == [(end - start) * S for start, end in case.periods]
    for kind in ("maintenance", "downtime", "degraded"):
        assert getattr(result, kind).tolist() == [len(sec) * S for sec in expected[kind]], kind
    for group in range(len(case.periods)):
        assert seconds_of(result.downtime_segments, group) == expected["downtime"][group]
        assert seconds_of(result.degraded_segments, group) == expected["degraded"][group]


def assert_disjoint_sorted_and_not_touching(segments: Windows) -> None:
    assert np.all(segments.end > segments.start)
    same_group = segments.group[1:] == segments.group[:-1]
    assert np.all(segments.group[1:] >= segments.group[:-1])
    assert np.all(~same_group | (segments.start[1:] > segments.end[:-1]))


@settings(max_examples=200, deadline=None)
@given(cases())
def test_downtime_and_degraded_segments_are_disjoint_sorted_and_merged(case: Case) -> None:
    result = measured(case)
    assert_disjoint_sorted_and_not_touching(result.downtime_segments)
    assert_disjoint_sorted_and_not_touching(result.degraded_segments)


@settings(max_examples=200, deadline=None)
@given(cases(), st.randoms(use_true_random=False))
def test_shuffling_and_duplicating_windows_changes_no_figure(
    case: Case, shuffle: random.Random
) -> None:
    def shaken(intervals: list[Interval]) -> list[Interval]:
        doubled = intervals + shuffle.sample(intervals, k=len(intervals) // 2)
        shuffle.shuffle(doubled)
        return doubled

    mixed = Case(case.periods, *(shaken(w) for w in (case.outage, case.degraded, case.maintenance)))
    before, after = measured(case), measured(mixed)
    for kind in ("maintenance", "downtime", "degraded"):
        assert np.array_equal(getattr(before, kind), getattr(after, kind)), kind
    for kind in ("downtime_segments", "degraded_segments"):
        for part in ("group", "start", "end"):
            assert np.array_equal(
                getattr(getattr(before, kind), part), getattr(getattr(after, kind), part)
            )


@settings(max_examples=200, deadline=None)
@given(cases(max_groups=1), st.floats(0, 1))
def test_splitting_a_period_anywhere_splits_every_figure_exactly(case: Case, where: float) -> None:
    ((start, end),) = case.periods
    cut = start + round(where * (end - start))
    # The same service twice: group 0 measures [start, cut), group 1 [cut, end).
    twice = [(g + copy, s, e) for copy in (0, 1) for g, s, e in case.outage]
    parts = Case(
        [(start, cut), (cut, end)],
        twice,
        [(g + copy, s, e) for copy in (0, 1) for g, s, e in case.degraded],
        [(g + copy, s, e) for copy in (0, 1) for g, s, e in case.maintenance],
    )
    whole, split = measured(case), measured(parts)
    for kind in ("total", "maintenance", "downtime", "degraded"):
        assert int(getattr(split, kind).sum()) == int(getattr(whole, kind)[0]), kind


def test_each_service_is_measured_over_its_own_period() -> None:
    # The same outage, 10:00-14:00 s, seen by services whose periods start 2 s apart.
    result = measure(
        np.array([0, 12 * S], dtype=np.int64),
        np.array([12 * S, 24 * S], dtype=np.int64),
        outage=windows([(0, 10, 14), (1, 10, 14)]),
        degraded=Windows.empty(),
        maintenance=Windows.empty(),
    )
    assert result.downtime.tolist() == [2 * S, 2 * S]
    assert result.downtime_segments.start.tolist() == [10 * S, 12 * S]


def test_maintenance_of_one_service_does_not_excuse_another() -> None:
    result = measure(
        np.array([0, 0], dtype=np.int64),
        np.array([100, 100], dtype=np.int64),
        outage=Windows.from_lists([0, 1], [10, 10], [20, 20]),
        degraded=Windows.empty(),
        maintenance=Windows.from_lists([0], [0], [100]),
    )
    assert result.downtime.tolist() == [0, 10]
    assert result.maintenance.tolist() == [100, 0]


def test_services_without_any_window_measure_zero() -> None:
    result = measure(
        np.array([0, 5, 9], dtype=np.int64),
        np.array([10, 50, 90], dtype=np.int64),
        outage=Windows.empty(),
        degraded=Windows.empty(),
        maintenance=Windows.empty(),
    )
    assert result.total.tolist() == [10, 45, 81]
    assert result.downtime.tolist() == result.maintenance.tolist() == [0, 0, 0]
    assert len(result.downtime_segments) == 0


def test_instants_too_far_apart_for_one_sort_key_are_still_ordered_by_service() -> None:
    far = 4 * 10**18  # (groups × time span) overflows int64: sorted on two columns instead
    result = measure(
        np.array([-far, -far], dtype=np.int64),
        np.array([far, far], dtype=np.int64),
        outage=Windows.from_lists([1, 0, 0, 1], [-far, 0, 5, far - 3], [-far + 7, 10, 20, far]),
        degraded=Windows.empty(),
        maintenance=Windows.from_lists([1], [-far + 2], [-far + 4]),
    )
    assert result.downtime.tolist() == [20, 8]
    assert result.downtime_segments.start.tolist() == [0, -far, -far + 4, far - 3]


def test_a_window_naming_an_unknown_service_is_refused() -> None:
    with pytest.raises(ValueError, match=r"groups must lie in 0\.\.1"):
        measure(
            np.array([0, 0], dtype=np.int64),
            np.array([10, 10], dtype=np.int64),
            outage=Windows.from_lists([2], [0], [5]),
            degraded=Windows.empty(),
            maintenance=Windows.empty(),
        )


def test_a_period_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match=r"ends before it starts \(service 1\)"):
        measure(
            np.array([0, 10], dtype=np.int64),
            np.array([10, 5], dtype=np.int64),
            outage=Windows.empty(),
            degraded=Windows.empty(),
            maintenance=Windows.empty(),
        )


def test_windows_refuse_arrays_of_different_lengths_or_another_dtype() -> None:
    one, two = np.zeros(1, dtype=np.int64), np.zeros(2, dtype=np.int64)
    with pytest.raises(ValueError, match="same length, got 1, 2 and 1"):
        Windows(one, two, one)
    with pytest.raises(ValueError, match="start must have dtype int64, got int32"):
        Windows(one, one.astype(np.int32), one)
    with pytest.raises(ValueError, match="group must be one-dimensional"):
        Windows(np.zeros((1, 1), dtype=np.int64), one, one)


def test_windows_cannot_be_changed_through_their_arrays() -> None:
    start = np.array([1, 2], dtype=np.int64)
    held = Windows(np.zeros(2, dtype=np.int64), start, np.array([3, 4], dtype=np.int64))
    with pytest.raises(ValueError, match="read-only"):
        held.start[0] = 99
    start[0] = 7  # the caller's own array stays writable
    assert held.lengths().tolist() == [0, 2]


@st.composite
def interval_lists(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    pairs = draw(st.lists(st.tuples(st.integers(0, 100), st.integers(-5, 30)), max_size=12))
    return [s for s, _ in pairs], [s + length for s, length in pairs]


def as_arrays(starts: list[int], ends: list[int]) -> tuple[Micros, Micros]:
    return np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)


@given(interval_lists(), st.randoms(use_true_random=False))
def test_a_union_is_idempotent_and_ignores_order_and_duplicates(
    intervals: tuple[list[int], list[int]], shuffle: random.Random
) -> None:
    starts, ends = intervals
    merged = union(*as_arrays(starts, ends))
    again = union(*merged)
    pairs = list(zip(starts, ends, strict=True)) * 2
    shuffle.shuffle(pairs)
    shuffled = union(*as_arrays([s for s, _ in pairs], [e for _, e in pairs]))
    for other in (again, shuffled):
        assert merged[0].tolist() == other[0].tolist()
        assert merged[1].tolist() == other[1].tolist()


@given(interval_lists())
def test_a_union_covers_exactly_the_points_its_intervals_cover(
    intervals: tuple[list[int], list[int]],
) -> None:
    starts, ends = intervals
    covered = {t for s, e in zip(starts, ends, strict=True) for t in range(s, e)}
    merged_starts, merged_ends = union(*as_arrays(starts, ends))
    assert union_length(*as_arrays(starts, ends)) == len(covered)
    assert {
        t for s, e in zip(merged_starts, merged_ends, strict=True) for t in range(s, e)
    } == covered
    assert np.all(merged_starts[1:] > merged_ends[:-1])  # disjoint and not touching


def test_touching_intervals_merge_into_one() -> None:
    starts, ends = union(*as_arrays([5, 0, 10], [10, 5, 12]))
    assert (starts.tolist(), ends.tolist()) == ([0], [12])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(-10, 60), st.integers(-5, 40)), max_size=10),
    st.lists(st.integers(-20, 80), min_size=0, max_size=8),
)
def test_total_per_bucket_agrees_with_a_brute_force(
    raw: list[tuple[int, int, int]], cuts: list[int]
) -> None:
    segments = Windows.from_lists(
        [g for g, _, _ in raw], [s for _, s, _ in raw], [s + length for _, s, length in raw]
    )
    edges = sorted(cuts)
    expected = [
        sum(max(0, min(e, hi) - max(s, lo)) for _, s, length in raw for e in [s + length])
        for lo, hi in pairwise(edges)
    ]
    result = total_per_bucket(segments, np.array(edges, dtype=np.int64))
    assert result.tolist() == expected


def test_total_per_bucket_refuses_edges_out_of_order() -> None:
    with pytest.raises(ValueError, match="non-decreasing"):
        total_per_bucket(Windows.empty(), np.array([0, 10, 5], dtype=np.int64))
