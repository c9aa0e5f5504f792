"""The pure parts of the scheduled jobs: paging through incidents and the job intervals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from incident.jobs import Batch
from slakeeper.scheduler import Intervals
from slakeeper.settings import Settings


def test_a_full_page_means_there_may_be_more_incidents_after_its_last_one() -> None:
    assert Batch(examined=500, last_id=812, changed=3, limit=500).more
    assert not Batch(examined=499, last_id=812, changed=3, limit=500).more
    assert not Batch(examined=0, last_id=0, changed=0, limit=500).more


def test_by_default_escalation_runs_every_15_s_sending_every_5_s_reconciling_every_60_s() -> None:
    intervals = Intervals()
    assert (intervals.sla, intervals.outbox, intervals.reconcile, intervals.silences) == (
        timedelta(seconds=15),
        timedelta(seconds=5),
        timedelta(seconds=60),
        timedelta(seconds=60),
    )


@pytest.mark.parametrize("name", ["sla", "outbox", "reconcile", "silences"])
def test_an_interval_that_is_not_positive_is_refused_by_name(name: str) -> None:
    with pytest.raises(ValueError, match=f"the {name} interval must be positive"):
        Intervals(**{name: timedelta(0)})


def test_settings_shorten_the_sla_and_reconciliation_intervals() -> None:
    settings = Settings(sla_interval_seconds=1, reconcile_interval_seconds=2.5)
    assert Intervals.of(settings) == Intervals(
        sla=timedelta(seconds=1), reconcile=timedelta(seconds=2.5)
    )
    assert Intervals.of(Settings()) == Intervals()


@pytest.mark.parametrize(
    "setting", ["sla_interval_seconds", "reconcile_interval_seconds", "reconcile_grace_seconds"]
)
def test_a_negative_job_setting_is_refused(setting: str) -> None:
    with pytest.raises(ValidationError, match=setting):
        Settings.model_validate({setting: -1})


def test_reconciliation_receivers_come_from_a_comma_separated_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLAKEEPER_ALERTMANAGER_RECEIVERS", "slakeeper, noc-slakeeper,")
    assert Settings().alertmanager_receivers == ["slakeeper", "noc-slakeeper"]
    monkeypatch.delenv("SLAKEEPER_ALERTMANAGER_RECEIVERS")
    assert Settings().alertmanager_receivers == []
