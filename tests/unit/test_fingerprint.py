"""Fingerprints computed from labels equal the ones Alertmanager sends."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collector.fingerprint import labels_fingerprint
from tests.conftest import fixture_json

WEBHOOKS = [
    "alertmanager-0.25/webhook_amtool_firing.json",
    "alertmanager-0.25/webhook_amtool_resolved.json",
    "alertmanager-0.25/webhook_firing_critical.json",
    "alertmanager-0.25/webhook_firing_warning.json",
    "alertmanager-0.25/webhook_resolved_critical.json",
    "alertmanager-0.25/webhook_resolved_warning.json",
]


@pytest.mark.parametrize("fixture", WEBHOOKS)
def test_the_fixtures_fingerprints_come_out_of_their_labels(fixture: str) -> None:
    for alert in fixture_json(fixture)["alerts"]:
        assert labels_fingerprint(alert["labels"]) == alert["fingerprint"]


def test_an_empty_label_set_has_the_fnv_offset_basis_as_fingerprint() -> None:
    assert labels_fingerprint({}) == "cbf29ce484222325"


def test_a_fingerprint_is_sixteen_lowercase_hex_digits() -> None:
    fingerprint = labels_fingerprint({"alertname": "Ünïcode", "instance": "db-1:9100"})
    assert len(fingerprint) == 16
    assert int(fingerprint, 16) >= 0
    assert fingerprint == fingerprint.lower()


def test_different_values_give_different_fingerprints() -> None:
    warning = labels_fingerprint({"alertname": "A", "severity": "warning"})
    critical = labels_fingerprint({"alertname": "A", "severity": "critical"})
    assert warning != critical


def test_moving_a_boundary_between_name_and_value_changes_the_fingerprint() -> None:
    assert labels_fingerprint({"ab": "c"}) != labels_fingerprint({"a": "bc"})


@given(st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=8), max_size=6))
def test_the_order_labels_arrive_in_does_not_matter(labels: dict[str, str]) -> None:
    reversed_labels = dict(reversed(list(labels.items())))
    assert labels_fingerprint(labels) == labels_fingerprint(reversed_labels)
