"""Properties of a closed month's arithmetic (`ledger.arithmetic`), checked against the
production measurement (`availability.intervals.measure`): adjusting a record equals measuring
again with the window removed or added; unknown-time policies bracket the figure."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from availability.intervals import Windows, measure
from ledger.arithmetic import (
    Basis,
    Change,
    apply,
    figures_of,
    length,
    subtract,
    unite,
)

HOUR = 3_600_000_000
MONTH = 30 * 24 * HOUR

interval = st.tuples(st.integers(0, MONTH), st.integers(1, 48 * HOUR)).map(
    lambda pair: (pair[0], min(MONTH, pair[0] + pair[1]))
)
intervals = st.lists(interval, max_size=12)


def measured_basis(
    outages: list[tuple[int, int]],
    maintenance: list[tuple[int, int]],
    *,
    policy: str = "up",
    unknown: tuple[tuple[int, int], ...] = (),
) -> Basis:
    """The basis a close stores, measured the way the report measures."""

    def windows(pairs: list[tuple[int, int]]) -> Windows:
        return Windows.from_lists([0] * len(pairs), [s for s, _ in pairs], [e for _, e in pairs])

    measured = measure(
        np.array([0], np.int64),
        np.array([MONTH], np.int64),
        outage=windows(outages),
        degraded=Windows.empty(),
        maintenance=windows(maintenance),
    )
    down = measured.downtime_segments
    return Basis(
        start_us=0,
        end_us=MONTH,
        downtime=tuple(zip(down.start.tolist(), down.end.tolist(), strict=True)),
        maintenance=unite(maintenance),
        degraded=(),
        unknown=subtract(subtract(unknown, unite(maintenance)), unite(outages)),
        unknown_policy=policy,
        target_ratio=0.995,
        degraded_weight=0.0,
    )


@settings(max_examples=150, deadline=None)
@given(intervals, intervals, st.data())
def test_excluding_a_window_equals_measuring_without_it(
    outages: list[tuple[int, int]], maintenance: list[tuple[int, int]], data: st.DataObject
) -> None:
    disjoint = list(unite(outages))
    assume(disjoint)
    removed = data.draw(st.sampled_from(disjoint))
    closed = measured_basis(disjoint, maintenance)

    adjusted = figures_of(apply(closed, [Change("exclude", *removed)]))
    remeasured = figures_of(measured_basis([w for w in disjoint if w != removed], maintenance))

    assert adjusted == remeasured


@settings(max_examples=150, deadline=None)
@given(intervals, intervals, interval)
def test_adding_a_window_equals_measuring_with_it(
    outages: list[tuple[int, int]], maintenance: list[tuple[int, int]], added: tuple[int, int]
) -> None:
    closed = measured_basis(outages, maintenance)

    adjusted = figures_of(apply(closed, [Change("add", *added)]))
    remeasured = figures_of(measured_basis([*outages, added], maintenance))

    assert adjusted == remeasured


@settings(max_examples=150, deadline=None)
@given(intervals, intervals, intervals)
def test_unknown_time_as_down_excluded_and_up_bracket_the_figure(
    outages: list[tuple[int, int]],
    maintenance: list[tuple[int, int]],
    blind: list[tuple[int, int]],
) -> None:
    ratios = {
        policy: figures_of(
            measured_basis(outages, maintenance, policy=policy, unknown=unite(blind))
        ).availability_ratio
        for policy in ("down", "excluded", "up")
    }
    assert ratios["down"] <= ratios["excluded"] + 1e-12
    assert ratios["excluded"] <= ratios["up"] + 1e-12


@settings(max_examples=200, deadline=None)
@given(intervals, intervals)
def test_set_arithmetic_counts_overlaps_once(
    left: list[tuple[int, int]], right: list[tuple[int, int]]
) -> None:
    a, b = unite(left), unite(right)
    both = subtract(a, subtract(a, b))
    assert length(unite(a, b)) == length(a) + length(b) - length(both)
    assert length(subtract(a, b)) == length(a) - length(both)


def test_an_adjustment_outside_the_month_changes_nothing() -> None:
    closed = measured_basis([(HOUR, 2 * HOUR)], [])
    moved = apply(closed, [Change("add", MONTH + HOUR, MONTH + 2 * HOUR)])
    assert figures_of(moved) == figures_of(closed)
    assert figures_of(closed).downtime_us == HOUR
    assert figures_of(apply(closed, [Change("shorten", HOUR, HOUR + 600_000_000)])).downtime_us == (
        pytest.approx(HOUR - 600_000_000)
    )
