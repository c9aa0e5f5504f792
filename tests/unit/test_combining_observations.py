"""Observations of one alert instance combine the same way whatever order they come in."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from collector.alerts import (
    AlertObservation,
    AlertStatus,
    Source,
    combine_observations,
    place_observations,
)

T0 = datetime(2026, 11, 21, 22, 0, tzinfo=UTC)


def observe(
    status: AlertStatus = AlertStatus.FIRING,
    *,
    fingerprint: str = "aaaa",
    starts_at: datetime = T0,
    ends_at: datetime | None = None,
    received_at: datetime = T0,
) -> tuple[AlertObservation, datetime]:
    observation = AlertObservation(
        fingerprint=fingerprint,
        starts_at=starts_at,
        ends_at=ends_at,
        status=status,
        labels={"alertname": "A"},
        annotations={},
        generator_url="",
        source=Source.ALERTMANAGER,
        received_at=received_at,
    )
    return observation, starts_at


def test_repeats_of_a_firing_alert_only_count_and_move_the_last_receipt() -> None:
    later = T0 + timedelta(minutes=1)
    [update] = combine_observations([observe(), observe(received_at=later)])
    assert update.status is AlertStatus.FIRING
    assert update.receive_count == 2
    assert update.first_received_at == T0
    assert update.last_received_at == later


def test_a_resolved_observation_sets_the_end() -> None:
    end = T0 + timedelta(minutes=5)
    [update] = combine_observations([observe(), observe(AlertStatus.RESOLVED, ends_at=end)])
    assert update.status is AlertStatus.RESOLVED
    assert update.ends_at == end


def test_a_late_firing_does_not_revive_a_resolved_instance() -> None:
    end = T0 + timedelta(minutes=5)
    [update] = combine_observations([observe(AlertStatus.RESOLVED, ends_at=end), observe()])
    assert update.status is AlertStatus.RESOLVED
    assert update.ends_at == end


def test_the_first_resolved_observation_fixes_the_end() -> None:
    first, second = T0 + timedelta(minutes=5), T0 + timedelta(minutes=6)
    [update] = combine_observations(
        [
            observe(AlertStatus.RESOLVED, ends_at=first),
            observe(AlertStatus.RESOLVED, ends_at=second),
        ]
    )
    assert update.ends_at == first


def test_instances_with_another_start_stay_apart_and_come_out_in_key_order() -> None:
    updates = combine_observations(
        [
            observe(fingerprint="bbbb"),
            observe(fingerprint="aaaa", starts_at=T0 + timedelta(hours=1)),
            observe(fingerprint="aaaa"),
        ]
    )
    assert [update.key for update in updates] == [
        ("aaaa", T0),
        ("aaaa", T0 + timedelta(hours=1)),
        ("bbbb", T0),
    ]


observation_lists = st.lists(
    st.tuples(st.booleans(), st.integers(min_value=0, max_value=100)), min_size=1, max_size=12
)


@given(observation_lists, st.randoms())
def test_status_and_count_do_not_depend_on_arrival_order(
    steps: list[tuple[bool, int]], shuffle: object
) -> None:
    observations = [
        observe(
            AlertStatus.RESOLVED if resolved else AlertStatus.FIRING,
            ends_at=T0 + timedelta(minutes=1) if resolved else None,
            received_at=T0 + timedelta(seconds=offset),
        )
        for resolved, offset in steps
    ]
    shuffled = list(observations)
    shuffle.shuffle(shuffled)  # type: ignore[attr-defined]
    [one] = combine_observations(observations)
    [other] = combine_observations(shuffled)
    assert (one.status, one.ends_at, one.receive_count) == (
        other.status,
        other.ends_at,
        other.receive_count,
    )
    assert (one.first_received_at, one.last_received_at) == (
        other.first_received_at,
        other.last_received_at,
    )
    assert one.receive_count == len(steps)
    assert (one.status is AlertStatus.RESOLVED) == any(resolved for resolved, _ in steps)


def without_start(
    status: AlertStatus = AlertStatus.FIRING, *, ends_at: datetime | None = None
) -> AlertObservation:
    observation, _ = observe(status, ends_at=ends_at, received_at=T0 + timedelta(hours=1))
    return replace(observation, starts_at=None)


def test_an_observation_with_a_start_keeps_it() -> None:
    observation, start = observe()
    assert place_observations([observation], {"aaaa": T0 - timedelta(days=1)}) == [
        (observation, start)
    ]


def test_an_observation_without_start_joins_the_instance_firing_now() -> None:
    [(_, start)] = place_observations([without_start()], {"aaaa": T0})
    assert start == T0


def test_without_start_and_nothing_firing_it_starts_when_received_or_when_it_ended() -> None:
    [(_, firing_start)] = place_observations([without_start()], {})
    assert firing_start == T0 + timedelta(hours=1)
    end = T0 + timedelta(minutes=30)
    [(_, resolved_start)] = place_observations(
        [without_start(AlertStatus.RESOLVED, ends_at=end)], {}
    )
    assert resolved_start == end


def test_a_start_less_resolve_never_ends_before_the_firing_instance_started() -> None:
    early_end = T0 - timedelta(seconds=1)
    [(observation, start)] = place_observations(
        [without_start(AlertStatus.RESOLVED, ends_at=early_end)], {"aaaa": T0}
    )
    assert (start, observation.ends_at) == (T0, T0)
