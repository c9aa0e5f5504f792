"""The alerts slakeeper holds, in the shapes of Alertmanager's read API (no I/O)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from collector.alertmanager_view import (
    RESOLVE_TIMEOUT,
    AlertSelection,
    HeldAlert,
    InvalidSelection,
    alertmanager_timestamp,
    expected_end,
    gettable_alert,
    receiver_name,
)

NOW = datetime(2026, 11, 22, 2, 21, 13, 33_999, tzinfo=UTC)


def held(receiver: str = "slakeeper", generator_url: str = "", **labels: str) -> HeldAlert:
    return HeldAlert(
        fingerprint="10ef5462552c7f01",
        starts_at=NOW - timedelta(hours=1),
        last_received_at=NOW - timedelta(minutes=1),
        labels={"alertname": "DiskFull", **labels},
        annotations={"summary": "disk full"},
        generator_url=generator_url,
        receiver=receiver,
    )


def test_timestamps_are_utc_at_the_millisecond_as_alertmanager_writes_them() -> None:
    assert alertmanager_timestamp(NOW) == "2026-11-22T02:21:13.033Z"
    offset = NOW.astimezone(datetime.now().astimezone().tzinfo)
    assert alertmanager_timestamp(offset) == "2026-11-22T02:21:13.033Z"


def test_the_receiver_is_the_delivering_one_else_the_source() -> None:
    assert receiver_name("team-payments", "alertmanager") == "team-payments"
    assert receiver_name(None, "prometheus") == "prometheus"
    assert receiver_name("", "grafana") == "grafana"


def test_a_held_alert_ends_one_resolve_timeout_from_now_never_in_the_past() -> None:
    assert expected_end(held(), now=NOW) == NOW + RESOLVE_TIMEOUT
    ahead = replace(held(), last_received_at=NOW + timedelta(minutes=2))
    assert expected_end(ahead, now=NOW) == NOW + timedelta(minutes=2) + RESOLVE_TIMEOUT


def test_an_empty_generator_url_is_left_out_as_alertmanager_leaves_it_out() -> None:
    assert "generatorURL" not in gettable_alert(held(), now=NOW)
    shown = gettable_alert(held(generator_url="http://prom/graph"), now=NOW)
    assert shown["generatorURL"] == "http://prom/graph"
    assert shown["status"] == {"inhibitedBy": [], "silencedBy": [], "state": "active"}
    assert shown["receivers"] == [{"name": "slakeeper"}]
    assert shown["updatedAt"] == "2026-11-22T02:20:13.033Z"


@pytest.mark.parametrize(
    ("receiver", "admitted"),
    [("slakeeper", True), ("slake", False), ("slake.*", True), ("other|slakeeper", True)],
)
def test_a_receiver_regex_must_match_the_whole_name(receiver: str, admitted: bool) -> None:
    selection = AlertSelection.parse(active=True, filters=[], receiver=receiver)
    assert selection.admits(held()) is admitted


def test_an_empty_receiver_filters_nothing_as_in_alertmanager() -> None:
    assert AlertSelection.parse(active=True, filters=[], receiver="").admits(held())


def test_label_matchers_all_apply_and_a_missing_label_is_empty() -> None:
    selection = AlertSelection.parse(
        active=True, filters=['service=~"pay.*"', 'team=""'], receiver=None
    )
    assert selection.admits(held(service="payments"))
    assert not selection.admits(held(service="checkout"))
    assert not selection.admits(held(service="payments", team="db"))
    assert [str(m) for m in selection.equality_matchers] == ['team=""']


def test_without_active_alerts_nothing_is_admitted() -> None:
    selection = AlertSelection.parse(active=False, filters=[], receiver=None)
    assert selection.excludes_everything
    assert not selection.admits(held())


@pytest.mark.parametrize(
    ("filters", "receiver", "parameter"),
    [(["service=~(pay"], None, "filter"), (["no operator"], None, "filter"), ([], "(", "receiver")],
)
def test_a_bad_matcher_or_receiver_names_its_parameter(
    filters: list[str], receiver: str | None, parameter: str
) -> None:
    with pytest.raises(InvalidSelection) as raised:
        AlertSelection.parse(active=True, filters=filters, receiver=receiver)
    assert raised.value.parameter == parameter
