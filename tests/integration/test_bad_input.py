"""Bad input gets a clear JSON error naming the field, and stores nothing at all."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import fixture_text
from tests.integration.conftest import AppFactory
from tests.integration.payloads import webhook, webhook_alert, webhook_with

AM = "/api/v1/webhooks/alertmanager"
V2 = "/api/v2/alerts"
GRAFANA = "/api/v1/webhooks/grafana"
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def small_client(make_app: AppFactory) -> Iterator[TestClient]:
    """A client of an app that takes bodies of up to 4 KiB."""
    with TestClient(make_app(max_body_bytes=4096)) as test_client:
        yield test_client


def assert_nothing_stored(client: TestClient, query: Callable[[str], list[Any]]) -> None:
    assert client.get("/api/v1/alerts").json()["items"] == []
    assert query("SELECT count(*) FROM alerts")[0][0] == 0
    assert query("SELECT count(*) FROM deliveries")[0][0] == 0
    assert query("SELECT count(*) FROM event_counters")[0][0] == 0


def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    return error


def fields(error: dict[str, Any]) -> set[str]:
    return {detail["field"] for detail in error["details"]}


def test_malformed_json_is_a_400(client: TestClient, query: Callable[[str], list[Any]]) -> None:
    response = client.post(AM, content=b'{"alerts": [', headers=JSON)
    error_of(response, 400, "malformed_json")
    assert_nothing_stored(client, query)


@pytest.mark.parametrize("body", [b"", b"   \n"])
def test_an_empty_body_is_a_400(
    client: TestClient, query: Callable[[str], list[Any]], body: bytes
) -> None:
    error_of(client.post(AM, content=body, headers=JSON), 400, "empty_body")
    assert_nothing_stored(client, query)


def test_a_body_that_is_not_json_is_a_415(
    client: TestClient, query: Callable[[str], list[Any]]
) -> None:
    body = fixture_text("alertmanager-0.25/webhook_firing_warning.json")
    response = client.post(AM, content=body, headers={"Content-Type": "text/plain"})
    error_of(response, 415, "unsupported_media_type")
    assert_nothing_stored(client, query)


def test_a_body_over_the_limit_is_a_413(
    small_client: TestClient, query: Callable[[str], list[Any]]
) -> None:
    big = webhook_with(*[webhook_alert(f"Big{i}", instance="x" * 50) for i in range(40)])
    error_of(small_client.post(AM, json=big), 413, "payload_too_large")
    assert_nothing_stored(small_client, query)


def test_a_streamed_body_over_the_limit_is_a_413(
    small_client: TestClient, query: Callable[[str], list[Any]]
) -> None:
    big = json.dumps(webhook_with(*[webhook_alert(f"Big{i}") for i in range(40)])).encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), 512):
            yield big[start : start + 512]

    response = small_client.post(AM, content=chunks(), headers=JSON)
    error_of(response, 413, "payload_too_large")
    assert_nothing_stored(small_client, query)


def replace_in_fixture(old: str, new: str) -> bytes:
    text = fixture_text("alertmanager-0.25/webhook_firing_warning.json")
    assert old in text
    return text.replace(old, new).encode()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (replace_in_fixture('"job":"probe"', '"job":7'), "alerts[0].labels.job"),
        (
            replace_in_fixture('"status":"firing","labels"', '"status":"burning","labels"'),
            "alerts[0].status",
        ),
        (
            replace_in_fixture('"2026-11-21T22:57:56.778Z"', '"21/11/2026 22:57"'),
            "alerts[0].startsAt",
        ),
        (
            replace_in_fixture('"2026-11-21T22:57:56.778Z"', '"2026-11-21T22:57:56"'),
            "alerts[0].startsAt",
        ),
        (replace_in_fixture('"startsAt":"2026-11-21T22:57:56.778Z",', ""), "alerts[0].startsAt"),
        (replace_in_fixture('"version":"4"', '"version":"3"'), "version"),
        (replace_in_fixture('"truncatedAlerts":0', '"truncatedAlerts":"0"'), "truncatedAlerts"),
        (b'{"version":"4","status":"firing"}', "alerts"),
        (b'{"version":"4","alerts":{"status":"firing"}}', "alerts"),
        (b"[]", "(body)"),
    ],
)
def test_invalid_webhooks_are_422_naming_the_field(
    client: TestClient, query: Callable[[str], list[Any]], body: bytes, field: str
) -> None:
    error = error_of(client.post(AM, content=body, headers=JSON), 422, "invalid_payload")
    assert field in fields(error)
    assert field in error["message"]
    assert_nothing_stored(client, query)


def test_one_bad_alert_in_a_batch_stores_none_of_them(
    client: TestClient, query: Callable[[str], list[Any]]
) -> None:
    good = [webhook_alert(f"Good{i}") for i in range(5)]
    bad = webhook_alert("Bad", starts_at="not a time")
    error = error_of(client.post(AM, json=webhook_with(*good, bad)), 422, "invalid_payload")
    assert fields(error) == {"alerts[5].startsAt"}
    assert_nothing_stored(client, query)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"labels": {"alertname": "A"}}, "(body)"),
        ([{"labels": {"alertname": "A"}, "startsAt": 5}], "[0].startsAt"),
        ([{"labels": {"alertname": "A"}}, {"annotations": {}}], "[1].labels"),
        ([{"labels": {"bad-name": "A"}}], "[0].labels"),
        (
            [
                {
                    "labels": {"a": "b"},
                    "startsAt": "2026-11-21T22:00:00Z",
                    "endsAt": "2026-11-21T21:00:00Z",
                }
            ],
            "[0]",
        ),
    ],
)
def test_invalid_prometheus_pushes_are_400_as_alertmanager_answers_naming_the_field(
    client: TestClient, query: Callable[[str], list[Any]], payload: Any, field: str
) -> None:
    error = error_of(client.post(V2, json=payload), 400, "invalid_payload")
    assert field in fields(error)
    assert_nothing_stored(client, query)


def test_a_grafana_webhook_of_an_unknown_version_is_a_422(
    client: TestClient, query: Callable[[str], list[Any]]
) -> None:
    payload = json.loads(fixture_text("grafana/webhook_firing.json"))
    payload["version"] = "2"
    error = error_of(client.post(GRAFANA, json=payload), 422, "invalid_payload")
    assert "version" in fields(error)
    assert_nothing_stored(client, query)


def test_an_alertmanager_payload_sent_to_the_grafana_route_is_refused(
    client: TestClient, query: Callable[[str], list[Any]]
) -> None:
    error = error_of(client.post(GRAFANA, json=webhook()), 422, "invalid_payload")
    assert "version" in fields(error)
    assert_nothing_stored(client, query)


@pytest.mark.parametrize("severity", ["critical", "apocalyptic", "", "P0", "信息"])
def test_unknown_label_values_are_never_an_error(client: TestClient, severity: str) -> None:
    payload = webhook_with(webhook_alert("Odd", severity=severity))
    assert client.post(AM, json=payload).status_code == 200
    assert len(client.get("/api/v1/alerts").json()["items"]) == 1


def test_an_unknown_path_is_a_json_404(client: TestClient) -> None:
    error_of(client.post("/api/v1/webhooks/nagios", json={}), 404, "not_found")
