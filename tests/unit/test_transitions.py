"""The lifecycle transitions as pure functions: the fields they set and the entry they log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from incident.lifecycle import InvalidTransition, State
from incident.transitions import Current, acknowledged, closed, reopened, resolved

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


def test_acknowledging_sets_who_and_when_and_logs_the_state_change() -> None:
    change = acknowledged(Current(State.OPEN), actor="alice", now=NOW)
    assert change.fields == {
        "state": "acknowledged",
        "acknowledged_at": NOW,
        "acknowledged_by": "alice",
        "updated_at": NOW,
    }
    assert (change.kind, change.before, change.after) == (
        "acknowledged",
        {"state": "open"},
        {"state": "acknowledged"},
    )


def test_resolving_is_dated_as_given_and_updated_now() -> None:
    earlier = NOW - timedelta(minutes=3)
    change = resolved(Current(State.ACKNOWLEDGED), at=earlier, actor="slakeeper", now=NOW)
    assert change.fields["resolved_at"] == earlier
    assert change.fields["updated_at"] == NOW
    assert change.after == {"state": "resolved", "resolved_at": earlier}


def test_closing_records_who_confirmed() -> None:
    change = closed(Current(State.RESOLVED), confirmed_by="the customer", now=NOW)
    assert change.fields["closed_by"] == "the customer"
    assert change.after == {"state": "closed", "confirmed_by": "the customer"}


@pytest.mark.parametrize("flap, count", [(True, 3), (False, 2)])
def test_reopening_clears_the_resolution_and_counts_only_a_flap(flap: bool, count: int) -> None:
    resolved_at = NOW - timedelta(minutes=5)
    change = reopened(Current(State.CLOSED, resolved_at, flap_count=2), flap=flap, now=NOW)
    assert change.fields["state"] == "open"
    assert change.fields["flap_count"] == count
    for name in ("resolved_at", "resolved_by", "closed_at", "closed_by", "resolution_seconds"):
        assert change.fields[name] is None
    assert change.before == {"state": "closed", "resolved_at": resolved_at}


@pytest.mark.parametrize(
    "make, state",
    [
        (lambda c: acknowledged(c, actor="a", now=NOW), State.ACKNOWLEDGED),
        (lambda c: resolved(c, at=NOW, actor="a", now=NOW), State.CLOSED),
        (lambda c: closed(c, confirmed_by="a", now=NOW), State.OPEN),
        (lambda c: reopened(c, flap=False, now=NOW), State.ACKNOWLEDGED),
    ],
)
def test_an_action_the_state_does_not_allow_is_refused(make: object, state: State) -> None:
    with pytest.raises(InvalidTransition):
        make(Current(state))  # type: ignore[operator]
