"""The pure parts of the scheduled jobs: paging through incidents and the job intervals."""

from __future__ import annotations

from datetime import timedelta

import pytest

from incident.jobs import Batch
from slakeeper.scheduler import Intervals


def test_a_full_page_means_there_may_be_more_incidents_after_its_last_one() -> None:
    assert Batch(examined=500, last_id=812, changed=3, limit=500).more
    assert not Batch(examined=499, last_id=812, changed=3, limit=500).more
    assert not Batch(examined=0, last_id=0, changed=0, limit=500).more


def test_by_default_escalation_runs_every_15_s_sending_every_5_s_reconciling_every_60_s() -> None:
    intervals = Intervals()
    assert (intervals.sla, intervals.outbox, intervals.reconcile) == (
        timedelta(seconds=15),
        timedelta(seconds=5),
        timedelta(seconds=60),
    )


@pytest.mark.parametrize("name", ["sla", "outbox", "reconcile"])
def test_an_interval_that_is_not_positive_is_refused_by_name(name: str) -> None:
    with pytest.raises(ValueError, match=f"the {name} interval must be positive"):
        Intervals(**{name: timedelta(0)})
