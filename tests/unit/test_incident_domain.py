"""The incident domain without a database: lifecycle, grouping, SLA clocks, escalation."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from incident.clocks import Breach, BreachKind, SlaTimes, due_times, new_breaches
from incident.escalation import due_steps
from incident.grouping import (
    Decision,
    Placement,
    ResolvedIncident,
    place_alert,
    raise_priority,
    worse_impact,
)
from incident.lifecycle import Action, InvalidTransition, State, transition
from rules.loader import load_rule_file
from rules.schema import Impact
from tests.conftest import FIXTURES

RULES = load_rule_file(FIXTURES / "example_rules.yaml")  # Asia/Shanghai, 09:00-18:00 Mon-Fri
RANKS = {name: policy.rank for name, policy in RULES.priorities.items()}


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("state", "action", "after"),
    [
        (State.OPEN, Action.ACK, State.ACKNOWLEDGED),
        (State.OPEN, Action.RESOLVE, State.RESOLVED),
        (State.ACKNOWLEDGED, Action.RESOLVE, State.RESOLVED),
        (State.RESOLVED, Action.CLOSE, State.CLOSED),
        (State.RESOLVED, Action.REOPEN, State.OPEN),
        (State.CLOSED, Action.REOPEN, State.OPEN),
    ],
)
def test_the_lifecycle_allows_these_transitions(state: State, action: Action, after: State) -> None:
    assert transition(state, action) is after


@pytest.mark.parametrize(
    ("state", "action"),
    [
        (State.ACKNOWLEDGED, Action.ACK),
        (State.RESOLVED, Action.ACK),
        (State.OPEN, Action.CLOSE),
        (State.ACKNOWLEDGED, Action.CLOSE),
        (State.CLOSED, Action.RESOLVE),
        (State.OPEN, Action.REOPEN),
    ],
)
def test_every_other_transition_is_refused_saying_from_where_it_is_allowed(
    state: State, action: Action
) -> None:
    with pytest.raises(InvalidTransition, match=f"cannot {action.value} an incident that is"):
        transition(state, action)


def test_only_a_resolved_incident_can_be_closed() -> None:
    with pytest.raises(InvalidTransition) as caught:
        transition(State.OPEN, Action.CLOSE)
    assert str(caught.value) == "cannot close an incident that is open (only from: resolved)"


def test_a_firing_alert_joins_the_active_incident_of_its_group() -> None:
    decision = place_alert(
        opens_incident=True,
        starts_at=utc(2026, 11, 2, 10),
        active_incident_id=7,
        last_resolved=ResolvedIncident(3, utc(2026, 11, 2, 9, 59)),
        reopen_window=timedelta(minutes=10),
    )
    assert decision == Decision(Placement.ATTACH, 7)


def test_a_group_firing_again_within_the_reopen_window_reopens_its_incident() -> None:
    resolved = ResolvedIncident(3, utc(2026, 11, 2, 10))

    def decide(starts_at: datetime) -> Decision:
        return place_alert(
            opens_incident=True,
            starts_at=starts_at,
            active_incident_id=None,
            last_resolved=resolved,
            reopen_window=timedelta(minutes=10),
        )

    assert decide(utc(2026, 11, 2, 10, 10)) == Decision(Placement.REOPEN, 3)
    assert decide(utc(2026, 11, 2, 10, 10, 1)) == Decision(Placement.OPEN)


def test_a_level_that_opens_no_incident_only_records_the_alert() -> None:
    decision = place_alert(
        opens_incident=False,
        starts_at=utc(2026, 11, 2, 10),
        active_incident_id=7,
        last_resolved=None,
        reopen_window=timedelta(minutes=10),
    )
    assert decision.placement is Placement.RECORD_ONLY


def test_a_more_severe_alert_raises_priority_and_impact_and_nothing_lowers_them() -> None:
    assert raise_priority("P3", "P1", RANKS) == "P1"
    assert raise_priority("P1", "P3", RANKS) == "P1"
    assert worse_impact(Impact.DEGRADED, Impact.OUTAGE) is Impact.OUTAGE
    assert worse_impact(Impact.OUTAGE, Impact.NONE) is Impact.OUTAGE
    assert worse_impact(Impact.NONE, Impact.DEGRADED) is Impact.DEGRADED


def test_due_times_follow_the_priority_targets() -> None:
    opened = utc(2026, 11, 2, 2)  # Monday 10:00 in Shanghai
    assert due_times(RULES.priorities["P1"], opened_at=opened, acknowledged_at=None) == (
        opened + timedelta(hours=1),
        opened + timedelta(hours=24),
    )


def test_a_p4_resolution_counts_five_business_days_across_the_weekend() -> None:
    opened = utc(2026, 11, 6, 9)  # Friday 17:00 in Shanghai
    respond, resolve = due_times(RULES.priorities["P4"], opened_at=opened, acknowledged_at=None)
    assert respond == opened + timedelta(hours=24)  # 24x7
    # 45 business hours: Fri 1 h, Mon-Thu 36 h, Fri 13 Nov 8 h -> 17:00 local.
    assert resolve == utc(2026, 11, 13, 9)


def test_resolution_can_be_measured_from_the_acknowledgement() -> None:
    from_ack = replace(RULES.priorities["P2"], resolution_from="acknowledged")
    opened = utc(2026, 11, 2, 2)
    assert due_times(from_ack, opened_at=opened, acknowledged_at=None)[1] is None
    acked = opened + timedelta(hours=3)
    assert due_times(from_ack, opened_at=opened, acknowledged_at=acked)[1] == acked + timedelta(
        hours=48
    )


def times(**changes: object) -> SlaTimes:
    base: dict[str, object] = {
        "opened_at": utc(2026, 11, 2, 2),
        "acknowledged_at": None,
        "resolved_at": None,
        "response_due_at": utc(2026, 11, 2, 3),
        "resolution_due_at": utc(2026, 11, 3, 2),
    }
    base.update(changes)
    return SlaTimes(**base)  # type: ignore[arg-type]


def test_a_breach_is_found_once_its_due_time_passes_and_only_once() -> None:
    assert new_breaches(times(), utc(2026, 11, 2, 2, 59)) == []
    assert new_breaches(times(), utc(2026, 11, 2, 3)) == [
        Breach(BreachKind.RESPONSE, utc(2026, 11, 2, 3))
    ]
    assert new_breaches(times(response_breached=True), utc(2026, 11, 2, 4)) == []
    assert new_breaches(times(response_breached=True), utc(2026, 11, 3, 2)) == [
        Breach(BreachKind.RESOLUTION, utc(2026, 11, 3, 2))
    ]


def test_an_acknowledgement_in_time_is_a_response_and_a_late_one_is_a_breach() -> None:
    in_time = times(acknowledged_at=utc(2026, 11, 2, 2, 30))
    assert new_breaches(in_time, utc(2026, 11, 2, 9)) == []
    late = times(acknowledged_at=utc(2026, 11, 2, 3, 1))
    assert [b.kind for b in new_breaches(late, utc(2026, 11, 2, 3, 1))] == [BreachKind.RESPONSE]


def test_resolving_without_an_acknowledgement_counts_as_the_response() -> None:
    resolved = times(resolved_at=utc(2026, 11, 2, 2, 40))
    assert new_breaches(resolved, utc(2026, 11, 9)) == []


def step_indexes(state: State, fired: set[int], now: datetime, priority: str = "P1") -> list[int]:
    steps = RULES.escalation[priority]
    opened = utc(2026, 11, 2, 2)
    return [s.index for s in due_steps(steps, state=state, opened_at=opened, fired=fired, now=now)]


def test_escalation_steps_fall_due_in_order_and_fire_once() -> None:
    opened = utc(2026, 11, 2, 2)
    assert step_indexes(State.OPEN, set(), opened + timedelta(minutes=9)) == []
    assert step_indexes(State.OPEN, set(), opened + timedelta(minutes=10)) == [0]
    assert step_indexes(State.OPEN, {0}, opened + timedelta(hours=1)) == [1]
    assert step_indexes(State.OPEN, set(), opened + timedelta(hours=5)) == [0, 1, 2]


def test_escalation_stops_once_resolved_and_an_acknowledged_condition_is_honoured() -> None:
    opened = utc(2026, 11, 2, 2)
    assert step_indexes(State.RESOLVED, set(), opened + timedelta(days=3)) == []
    assert step_indexes(State.ACKNOWLEDGED, set(), opened + timedelta(hours=1)) == [0, 1]
    # P4's first step says `unless: acknowledged`; the others stop only when resolved.
    assert step_indexes(State.ACKNOWLEDGED, set(), opened + timedelta(days=2), "P4") == [1]
    assert step_indexes(State.OPEN, set(), opened + timedelta(days=2), "P4") == [0, 1]
