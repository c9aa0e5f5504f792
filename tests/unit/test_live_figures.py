"""The figures /metrics shows, from windows: the downtime counter above all."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from availability.intervals import Windows
from availability.live import (
    ADVANCE_US,
    SETTLE_US,
    CounterState,
    CurrentState,
    WindowFigures,
    advance_counters,
    service_states,
    window_figures,
)
from availability.metrics import Refreshed, SlaCollector
from availability.snapshot import CounterChanges, LiveFigures, PeriodFigures

S = 1_000_000  # µs per second
NOTHING = Windows.empty()


def outages(*spans: tuple[int, int, int]) -> Windows:
    """(service, start s, end s) windows."""
    return Windows.from_lists(
        [g for g, _, _ in spans], [a * S for _, a, _ in spans], [b * S for _, _, b in spans]
    )


def fresh(n: int, through_s: int) -> CounterState:
    return CounterState(
        settled_through=np.full(n, through_s * S, dtype=np.int64),
        settled=np.zeros(n, dtype=np.int64),
        exported=np.zeros(n, dtype=np.int64),
    )


def test_the_counter_is_the_downtime_since_its_checkpoint_outside_maintenance() -> None:
    state = fresh(2, 0)
    windows = outages((0, 100, 400), (1, 50, 60))
    maintenance = outages((0, 200, 300))
    update = advance_counters(state, windows, maintenance, now_us=1000 * S)
    assert update.value.tolist() == [200 * S, 10 * S]
    assert not update.advance.any()


def test_the_counter_never_shows_less_than_it_showed_before() -> None:
    state = CounterState(
        settled_through=np.array([0], dtype=np.int64),
        settled=np.array([0], dtype=np.int64),
        exported=np.array([500 * S], dtype=np.int64),
    )
    update = advance_counters(state, outages((0, 0, 100)), NOTHING, now_us=1000 * S)
    assert update.value.tolist() == [500 * S]


# Outages as (start, length) in seconds over a day; scrapes at increasing times.
spans = st.lists(st.tuples(st.integers(0, 86_400), st.integers(0, 20_000)), min_size=0, max_size=8)
scrapes = st.lists(st.integers(1, 4 * 3600), min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(spans, scrapes)
def test_moving_the_checkpoint_never_changes_the_count(
    outage_spans: list[tuple[int, int]], steps: list[int]
) -> None:
    windows = outages(*((0, start, start + length) for start, length in outage_spans))
    state = fresh(1, 0)
    now = 0
    for step in steps:
        now += step
        update = advance_counters(state, windows, NOTHING, now_us=now * S)
        # The same windows measured in one piece from the very beginning.
        whole = advance_counters(fresh(1, 0), windows, NOTHING, now_us=now * S)
        assert update.value.tolist() == whole.value.tolist()
        assert update.value[0] >= state.exported[0]
        if update.advance[0]:
            assert update.settled_through[0] == now * S - SETTLE_US
        state = CounterState(update.settled_through, update.settled, update.value)


def test_the_checkpoint_moves_only_once_it_lags_well_behind() -> None:
    state = fresh(1, 0)
    just_inside = advance_counters(state, NOTHING, NOTHING, now_us=SETTLE_US + ADVANCE_US)
    assert not just_inside.advance[0]
    beyond = advance_counters(state, NOTHING, NOTHING, now_us=SETTLE_US + ADVANCE_US + 1)
    assert beyond.advance[0]
    assert beyond.settled_through[0] == ADVANCE_US + 1


def test_states_now_put_maintenance_before_down_before_degraded() -> None:
    outage = outages((0, 0, 100), (1, 0, 100), (2, 0, 50))
    degraded = outages((2, 0, 100), (3, 0, 100))
    maintenance = outages((0, 90, 200))
    states = service_states(outage, degraded, maintenance, n=5, now_us=100 * S)
    assert states == [
        CurrentState.MAINTENANCE,
        CurrentState.DOWN,
        CurrentState.DEGRADED,
        CurrentState.DEGRADED,
        CurrentState.UP,
    ]


def test_window_figures_give_the_share_of_budget_left() -> None:
    # 10,000 s at 99 %: 100 s of budget; 25 s down and 50 s degraded at weight 0.5.
    figures = window_figures(
        outages((0, 0, 25)),
        outages((0, 100, 150)),
        NOTHING,
        starts=np.array([0, 0], dtype=np.int64),
        now_us=10_000 * S,
        targets=np.array([0.99, 0.99]),
        degraded_weight=0.5,
    )
    assert figures.budget_remaining_ratio.tolist() == pytest.approx([0.5, 1.0])
    assert figures.availability_ratio.tolist() == pytest.approx([1 - 50 / 10_000, 1.0])


def test_a_window_of_nothing_but_maintenance_has_all_its_budget() -> None:
    figures = window_figures(
        NOTHING,
        NOTHING,
        outages((0, 0, 100)),
        starts=np.array([0], dtype=np.int64),
        now_us=100 * S,
        targets=np.array([0.995]),
        degraded_weight=0.0,
    )
    assert figures.budget_remaining_ratio.tolist() == [1.0]
    assert figures.availability_ratio.tolist() == [1.0]


def _live(downtime_s: int) -> LiveFigures:
    state = fresh(1, 0)
    return LiveFigures(
        services=["payments"],
        states=[CurrentState.UP],
        downtime_us=np.array([downtime_s * S], dtype=np.int64),
        open_incidents=pd.DataFrame([], columns=["service", "priority", "state", "count"]),
        counters=CounterChanges(
            ["payments"],
            state,
            advance_counters(state, NOTHING, NOTHING, now_us=S),
            np.ones(1, dtype=np.bool_),
        ),
    )


def _periods(ratio: float) -> PeriodFigures:
    figures = WindowFigures(np.array([ratio]), np.array([1.0]))
    return PeriodFigures(["payments"], np.array([0.995]), figures, figures)


def test_the_collector_computes_at_most_once_per_cache_time() -> None:
    reads: list[int] = []
    clock = [0.0]

    def live() -> LiveFigures:
        reads.append(1)
        return _live(len(reads))

    registry = CollectorRegistry()
    collector = SlaCollector(
        live, lambda: _periods(0.99), cache_seconds=5, monotonic=lambda: clock[0]
    )
    registry.register(collector)
    assert reads == []  # registering describes, it does not read

    def shown() -> float | None:
        return registry.get_sample_value(
            "slakeeper_service_downtime_seconds_total", {"service": "payments"}
        )

    assert shown() == 1
    clock[0] = 4.9
    assert shown() == 1
    clock[0] = 5.0
    assert shown() == 2
    assert len(reads) == 2
    ratio = {"service": "payments", "window": "30d"}
    assert registry.get_sample_value("slakeeper_service_availability_ratio", ratio) == 0.99


def test_refreshed_figures_are_recomputed_in_the_background_once_stale() -> None:
    computed: list[float] = []
    clock = [0.0]
    release = threading.Event()

    def compute() -> float:
        if computed:
            release.wait(timeout=10)
        computed.append(clock[0])
        return clock[0]

    refreshed = Refreshed(compute, max_age=60, monotonic=lambda: clock[0])
    assert refreshed.get() == 0  # the first time, computed while the caller waits
    clock[0] = 59
    assert refreshed.get() == 0
    clock[0] = 60
    assert refreshed.get() == 0  # stale: served while a new one is computed
    assert refreshed.get() == 0  # and only one computation runs
    release.set()
    refreshed.close()
    assert computed == [0, 60]
    assert refreshed.get() == 60


def test_refreshed_with_no_max_age_computes_every_time() -> None:
    count = iter(range(100))
    refreshed = Refreshed(lambda: next(count), max_age=0)
    assert [refreshed.get() for _ in range(3)] == [0, 1, 2]


# The failing background computations end their threads with the error, as they should.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_failing_refreshes_keep_the_last_figures_until_they_are_too_old() -> None:
    results: list[int | Exception] = [1, RuntimeError("database gone"), RuntimeError("again")]
    clock = [0.0]

    def compute() -> int:
        result = results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result

    refreshed = Refreshed(compute, max_age=10, monotonic=lambda: clock[0])
    assert refreshed.get() == 1
    clock[0] = 10
    assert refreshed.get() == 1  # stale; the background computation fails
    refreshed.close()
    clock[0] = 29.9
    assert refreshed.get() == 1  # still served: not yet three times too old
    refreshed.close()
    results.append(RuntimeError("still gone"))
    clock[0] = 30
    # Too old to serve: computed by the caller, who sees the failure.
    with pytest.raises(RuntimeError):
        refreshed.get()


def test_negative_cache_times_are_refused() -> None:
    with pytest.raises(ValueError, match="cache_seconds"):
        SlaCollector(lambda: _live(0), lambda: _periods(1.0), cache_seconds=-1)
    with pytest.raises(ValueError, match="max_age"):
        Refreshed(lambda: 1, max_age=-1)
