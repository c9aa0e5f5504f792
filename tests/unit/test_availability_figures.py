"""Availability figures: ratio, error budget, warranty days, for one service or many."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from availability.figures import Availability, availability_of, availability_table
from availability.intervals import Windows, measure
from availability.periods import Period

S = 1_000_000
HOUR = 3600 * S
DAY = 24 * HOUR
NOVEMBER = Period(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
MONTH = 30 * DAY


def november(
    *,
    maintenance: int = 0,
    downtime: int = 0,
    degraded: int = 0,
    target: float = 0.995,
    weight: float = 0.0,
) -> Availability:
    return availability_of(
        "checkout",
        NOVEMBER,
        total_us=MONTH,
        maintenance_us=maintenance,
        downtime_us=downtime,
        degraded_us=degraded,
        target_ratio=target,
        degraded_weight=weight,
    )


def test_a_995_target_over_a_30_day_month_allows_3_hours_36_minutes() -> None:
    figures = november(downtime=HOUR)
    assert figures.error_budget_seconds == 12_960 == 3 * 3600 + 36 * 60
    assert figures.error_budget_remaining_seconds == 12_960 - 3600
    assert figures.availability_ratio == pytest.approx(1 - 1 / 720)
    assert figures.met


def test_the_figures_carry_the_period_and_the_measured_seconds() -> None:
    figures = november(maintenance=2 * HOUR, downtime=90 * S, degraded=S // 2)
    assert (figures.service, figures.start, figures.end) == (
        "checkout",
        NOVEMBER.start,
        NOVEMBER.end,
    )
    assert figures.total_seconds == 2_592_000
    assert figures.maintenance_seconds == 7200
    assert figures.downtime_seconds == 90
    assert figures.degraded_seconds == 0.5
    assert figures.target_ratio == 0.995


def test_maintenance_is_excluded_from_the_period_and_the_budget() -> None:
    figures = november(maintenance=10 * DAY, downtime=2 * DAY)
    assert figures.availability_ratio == pytest.approx(18 / 20)
    assert figures.error_budget_seconds == pytest.approx(0.005 * 20 * 86_400)


def test_a_period_that_is_all_maintenance_is_fully_available() -> None:
    figures = november(maintenance=MONTH)
    assert figures.availability_ratio == 1.0
    assert figures.error_budget_seconds == 0
    assert figures.error_budget_remaining_seconds == 0
    assert figures.met


def test_downtime_exactly_the_budget_still_meets_the_target() -> None:
    spent = november(downtime=12_960 * S)
    assert spent.met and spent.error_budget_remaining_seconds == 0
    assert spent.availability_ratio == 0.995
    over = november(downtime=12_961 * S)
    assert not over.met
    assert over.error_budget_remaining_seconds == -1


@pytest.mark.parametrize(
    ("downtime", "days"),
    [(0, 0), (1, 1), (S, 1), (DAY - 1, 1), (DAY, 1), (DAY + S, 2), (3 * DAY, 3)],
)
def test_warranty_extension_is_whole_days_of_downtime_rounded_up(downtime: int, days: int) -> None:
    assert november(downtime=downtime, target=0.5).warranty_extension_days == days


def test_a_degraded_weight_of_one_half_counts_half_the_degraded_time() -> None:
    unweighted = november(downtime=HOUR, degraded=4 * HOUR)
    weighted = november(downtime=HOUR, degraded=4 * HOUR, weight=0.5)
    assert unweighted.availability_ratio == pytest.approx(1 - 1 / 720)
    assert weighted.availability_ratio == pytest.approx(1 - 3 / 720)
    assert weighted.error_budget_remaining_seconds == 12_960 - 3 * 3600
    assert weighted.degraded_seconds == unweighted.degraded_seconds == 4 * 3600
    assert weighted.warranty_extension_days == 1  # degraded time extends no warranty


@pytest.mark.parametrize("target", [0.0, 1.0, -0.1, 1.5, float("nan")])
def test_a_target_outside_zero_to_one_is_refused(target: float) -> None:
    with pytest.raises(ValueError, match=r"target_ratio must lie in \(0, 1\)"):
        november(target=target)


@pytest.mark.parametrize("weight", [-0.1, 1.01, float("nan")])
def test_a_degraded_weight_outside_zero_to_one_is_refused(weight: float) -> None:
    with pytest.raises(ValueError, match=r"degraded_weight must lie in \[0, 1\]"):
        november(weight=weight)


def test_times_that_do_not_fit_their_period_are_refused() -> None:
    with pytest.raises(ValueError, match="exceed the period"):
        november(maintenance=MONTH - HOUR, downtime=HOUR, degraded=1)
    with pytest.raises(ValueError, match="must not be negative"):
        november(downtime=-1)
    with pytest.raises(ValueError, match="must be the period's length"):
        availability_of(
            "checkout",
            NOVEMBER,
            total_us=MONTH - 1,
            maintenance_us=0,
            downtime_us=0,
            degraded_us=0,
            target_ratio=0.995,
            degraded_weight=0,
        )


def test_the_table_takes_one_target_per_service() -> None:
    table = availability_table(
        [100, 100, 100],
        [0, 0, 100],
        [1, 2, 0],
        [0, 0, 0],
        target_ratio=[0.99, 0.99, 0.999],
    )
    assert table.met.tolist() == [True, False, True]
    assert table.error_budget_us.tolist() == [1, 1, 0]
    assert table.error_budget_remaining_us.tolist() == [0.0, -1.0, 0.0]


@st.composite
def measured_times(draw: st.DrawFn) -> tuple[int, int, int, int]:
    total = draw(st.integers(0, 40 * DAY))
    maintenance = draw(st.integers(0, total))
    downtime = draw(st.integers(0, total - maintenance))
    degraded = draw(st.integers(0, total - maintenance - downtime))
    return total, maintenance, downtime, degraded


targets = st.floats(0.0001, 0.9999)
weights = st.floats(0, 1)


@given(st.lists(measured_times(), min_size=1, max_size=6), targets, weights)
def test_availability_is_always_between_zero_and_one(
    times: list[tuple[int, int, int, int]], target: float, weight: float
) -> None:
    table = availability_table(
        *zip(*times, strict=True), target_ratio=target, degraded_weight=weight
    )
    assert np.all((table.availability_ratio >= 0) & (table.availability_ratio <= 1))
    assert np.array_equal(table.met, table.availability_ratio >= target)


@given(st.lists(measured_times(), min_size=1, max_size=6), targets, weights)
def test_the_table_gives_each_service_what_it_would_get_alone(
    times: list[tuple[int, int, int, int]], target: float, weight: float
) -> None:
    table = availability_table(
        *zip(*times, strict=True), target_ratio=target, degraded_weight=weight
    )
    start = NOVEMBER.start
    for row, (total, maintenance, downtime, degraded) in enumerate(times):
        alone = availability_of(
            "s",
            Period(start, start + timedelta(microseconds=total)),
            total_us=total,
            maintenance_us=maintenance,
            downtime_us=downtime,
            degraded_us=degraded,
            target_ratio=target,
            degraded_weight=weight,
        )
        assert alone.availability_ratio == table.availability_ratio[row]
        assert alone.error_budget_seconds * S == pytest.approx(table.error_budget_us[row])
        assert alone.met == table.met[row]
        assert alone.warranty_extension_days == table.warranty_extension_days[row]


def ratio_with(
    outage: list[tuple[int, int]], maintenance: list[tuple[int, int]], weight: float
) -> float:
    """Availability of one service over [0, 1000) s with degraded time over [500, 700) s."""
    result = measure(
        np.array([0], dtype=np.int64),
        np.array([1000 * S], dtype=np.int64),
        outage=Windows.from_lists(
            [0] * len(outage), [s * S for s, _ in outage], [e * S for _, e in outage]
        ),
        degraded=Windows.from_lists([0], [500 * S], [700 * S]),
        maintenance=Windows.from_lists(
            [0] * len(maintenance), [s * S for s, _ in maintenance], [e * S for _, e in maintenance]
        ),
    )
    table = availability_table(
        result.total,
        result.maintenance,
        result.downtime,
        result.degraded,
        target_ratio=0.9,
        degraded_weight=weight,
    )
    return float(table.availability_ratio[0])


spans = st.tuples(st.integers(-100, 1100), st.integers(0, 400)).map(lambda p: (p[0], p[0] + p[1]))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(spans, min_size=1, max_size=5),
    st.lists(spans, max_size=4),
    st.data(),
    weights,
)
def test_maintenance_laid_over_an_outage_never_lowers_availability(
    outage: list[tuple[int, int]],
    maintenance: list[tuple[int, int]],
    data: st.DataObject,
    weight: float,
) -> None:
    start, end = data.draw(st.sampled_from(outage))
    inner_start = data.draw(st.integers(start, end))
    inner_end = data.draw(st.integers(inner_start, end))
    before = ratio_with(outage, maintenance, weight)
    after = ratio_with(outage, [*maintenance, (inner_start, inner_end)], weight)
    assert after >= before


@settings(max_examples=200, deadline=None)
@given(st.lists(spans, max_size=5), st.lists(spans, max_size=4), spans)
def test_adding_maintenance_never_adds_downtime_or_degraded_time(
    outage: list[tuple[int, int]], maintenance: list[tuple[int, int]], extra: tuple[int, int]
) -> None:
    def measured(windows: list[tuple[int, int]]) -> tuple[int, int, int]:
        result = measure(
            np.array([0], dtype=np.int64),
            np.array([1000], dtype=np.int64),
            outage=Windows.from_lists(
                [0] * len(outage), [s for s, _ in outage], [e for _, e in outage]
            ),
            degraded=Windows.from_lists([0], [500], [700]),
            maintenance=Windows.from_lists(
                [0] * len(windows), [s for s, _ in windows], [e for _, e in windows]
            ),
        )
        return int(result.downtime[0]), int(result.degraded[0]), int(result.maintenance[0])

    down, degraded, maint = measured(maintenance)
    down_after, degraded_after, maint_after = measured([*maintenance, extra])
    assert down_after <= down and degraded_after <= degraded and maint_after >= maint


def test_maintenance_over_up_time_shrinks_the_period_and_can_lower_availability() -> None:
    # DESIGN §3: (T - M - D) / (T - M). Planned work while the service was up removes good
    # time from the denominator, so it is not a way to raise the figure.
    assert ratio_with([(0, 100)], [], 0) == pytest.approx(900 / 1000)
    assert ratio_with([(0, 100)], [(800, 1000)], 0) == pytest.approx(700 / 800)
    assert ratio_with([(0, 100)], [(0, 100)], 0) == 1.0
