"""Alert semantics through the real HTTP routes and a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from collector.fingerprint import labels_fingerprint
from tests.conftest import fixture_json, fixture_text
from tests.integration.conftest import Clock
from tests.integration.payloads import webhook, webhook_alert, webhook_with

AM = "/api/v1/webhooks/alertmanager"
V2 = "/api/v2/alerts"
GRAFANA = "/api/v1/webhooks/grafana"


def alerts(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/v1/alerts", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def post(client: TestClient, path: str, payload: Any) -> None:
    response = client.post(path, json=payload)
    assert response.status_code == 200, response.text


def state(alert: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(
        alert[key]
        for key in ("fingerprint", "starts_at", "ends_at", "status", "labels", "annotations")
    )


def test_a_firing_webhook_stores_one_firing_instance(client: TestClient) -> None:
    response = client.post(AM, json=webhook("webhook_firing_critical.json"))
    assert response.status_code == 200
    assert response.json() == {"received": 1}
    [alert] = alerts(client)
    assert alert["fingerprint"] == "d27b75834201ca73"
    assert alert["status"] == "firing"
    assert alert["starts_at"] == "2026-11-21T22:58:01.778000Z"
    assert alert["ends_at"] is None
    assert alert["source"] == "alertmanager"
    assert alert["receive_count"] == 1
    assert alert["labels"]["severity"] == "critical"
    assert alert["annotations"]["summary"] == "probe_value is 95 (critical threshold 90)"
    assert alert["first_received_at"] == "2026-11-21T23:00:00Z"


def test_repeats_only_move_the_last_receipt_and_the_count(client: TestClient, clock: Clock) -> None:
    post(client, AM, webhook("webhook_firing_critical.json"))
    [before] = alerts(client)
    for _ in range(2):
        clock.advance(minutes=1)
        post(client, AM, webhook("webhook_firing_critical.json"))
    [after] = alerts(client)
    assert state(after) == state(before)
    assert after["receive_count"] == 3
    assert after["first_received_at"] == "2026-11-21T23:00:00Z"
    assert after["last_received_at"] == "2026-11-21T23:02:00Z"
    assert after["id"] == before["id"]


def test_a_resolved_notification_sets_the_end(client: TestClient) -> None:
    post(client, AM, webhook("webhook_firing_critical.json"))
    post(client, AM, webhook("webhook_resolved_critical.json"))
    [alert] = alerts(client)
    assert alert["status"] == "resolved"
    assert alert["ends_at"] == "2026-11-21T22:58:06.778000Z"
    assert alert["receive_count"] == 2


def test_a_resolved_arriving_before_its_firing_stores_a_resolved_instance(
    client: TestClient,
) -> None:
    post(client, AM, webhook("webhook_resolved_warning.json"))
    [alert] = alerts(client)
    assert (alert["status"], alert["ends_at"]) == ("resolved", "2026-11-21T22:58:06.778000Z")
    post(client, AM, webhook("webhook_firing_warning.json"))
    [late] = alerts(client)
    assert (late["status"], late["ends_at"]) == ("resolved", "2026-11-21T22:58:06.778000Z")


def test_replaying_payloads_changes_no_state(client: TestClient) -> None:
    sequence = [
        webhook("webhook_firing_warning.json"),
        webhook("webhook_firing_critical.json"),
        webhook("webhook_resolved_critical.json"),
    ]
    for payload in sequence:
        post(client, AM, payload)
    before = sorted(state(alert) for alert in alerts(client))
    for payload in sequence + sequence[::-1]:
        post(client, AM, payload)
    assert sorted(state(alert) for alert in alerts(client)) == before


def test_a_refiring_alert_with_a_new_start_is_a_new_instance(client: TestClient) -> None:
    first = webhook_alert("Flappy", starts_at="2026-11-21T22:00:00Z")
    resolved = webhook_alert(
        "Flappy",
        status="resolved",
        starts_at="2026-11-21T22:00:00Z",
        ends_at="2026-11-21T22:05:00Z",
    )
    again = webhook_alert("Flappy", starts_at="2026-11-21T22:10:00Z")
    for alert in (first, resolved, again):
        post(client, AM, webhook_with(alert))
    instances = alerts(client)
    assert [(a["starts_at"], a["status"]) for a in instances] == [
        ("2026-11-21T22:10:00Z", "firing"),
        ("2026-11-21T22:00:00Z", "resolved"),
    ]
    assert {a["fingerprint"] for a in instances} == {labels_fingerprint({"alertname": "Flappy"})}


def test_one_request_with_many_alerts_stores_them_all(client: TestClient) -> None:
    batch = [webhook_alert(f"Batch{i}", instance=f"host-{i}") for i in range(120)]
    response = client.post(AM, json=webhook_with(*batch))
    assert response.json() == {"received": 120}
    assert len(alerts(client, limit=1000)) == 120


def test_prometheus_posting_directly_is_answered_like_alertmanager_does(
    client: TestClient,
) -> None:
    response = client.post(
        V2,
        content=fixture_text("prometheus-2.42/api_v2_alerts_firing.json"),
        headers={"Content-Type": "application/json"},
    )
    assert (response.status_code, response.content) == (200, b"")
    [alert] = alerts(client)
    assert (alert["status"], alert["source"]) == ("firing", "prometheus")
    assert alert["fingerprint"] == "1ca65c6243492032"
    post(client, V2, fixture_json("prometheus-2.42/api_v2_alerts_resolved.json"))
    [alert] = alerts(client)
    assert (alert["status"], alert["ends_at"]) == ("resolved", "2026-11-21T22:58:52.778000Z")


def test_the_same_alert_from_two_sources_is_one_instance(client: TestClient) -> None:
    post(client, V2, fixture_json("prometheus-2.42/api_v2_alerts_firing.json"))
    same = webhook_with(
        webhook_alert(
            "ProbeValueHigh",
            starts_at="2026-11-21T22:58:42.778Z",
            instance="127.0.0.1:18080",
            job="probe",
            severity="warning",
        )
    )
    post(client, AM, same)
    [alert] = alerts(client)
    assert alert["receive_count"] == 2


def test_an_alert_without_start_time_joins_the_instance_firing_now(
    client: TestClient, clock: Clock
) -> None:
    labels = {"alertname": "NoStart", "job": "amtool"}
    post(client, V2, [{"labels": labels, "startsAt": "2026-11-21T22:30:00Z"}])
    clock.advance(minutes=1)
    post(client, V2, [{"labels": labels, "endsAt": "2026-11-21T22:59:00Z"}])
    [alert] = alerts(client)
    assert alert["starts_at"] == "2026-11-21T22:30:00Z"
    assert (alert["status"], alert["ends_at"]) == ("resolved", "2026-11-21T22:59:00Z")


def test_a_resolve_without_start_time_never_ends_before_the_instance_started(
    client: TestClient, clock: Clock
) -> None:
    # amtool: `alert add` (no start), then `alert add --end=<now, to the second>`.
    labels = {"alertname": "AmtoolAdded"}
    clock.now = clock.now.replace(microsecond=730000)
    post(client, V2, [{"labels": labels}])
    clock.advance(seconds=0.1)
    post(client, V2, [{"labels": labels, "endsAt": "2026-11-21T23:00:00Z"}])
    [alert] = alerts(client)
    assert alert["starts_at"] == "2026-11-21T23:00:00.730000Z"
    assert (alert["status"], alert["ends_at"]) == ("resolved", "2026-11-21T23:00:00.730000Z")


def test_an_alert_without_start_time_and_nothing_firing_starts_when_received(
    client: TestClient,
) -> None:
    post(client, V2, [{"labels": {"alertname": "Fresh"}}])
    [alert] = alerts(client)
    assert (alert["starts_at"], alert["status"]) == ("2026-11-21T23:00:00Z", "firing")


def test_grafana_webhooks_are_stored_in_utc(client: TestClient) -> None:
    post(client, GRAFANA, fixture_json("grafana/webhook_firing.json"))
    by_name = {alert["labels"]["alertname"]: alert for alert in alerts(client)}
    assert by_name["DiskAlmostFull"]["starts_at"] == "2026-11-21T07:51:03.157076Z"
    assert by_name["DiskAlmostFull"]["source"] == "grafana"
    assert by_name["DiskAlmostFull"]["fingerprint"] == "c6eadffa33fcdf37"
    assert by_name["HighLatency"]["status"] == "resolved"
    assert by_name["HighLatency"]["ends_at"] == "2026-11-21T15:05:30.500000Z"


def test_each_delivery_envelope_is_recorded(
    client: TestClient, query: Callable[[str], list[Any]]
) -> None:
    post(client, AM, webhook("webhook_firing_critical.json", truncatedAlerts=3))
    post(client, V2, fixture_json("prometheus-2.42/api_v2_alerts_firing.json"))
    rows = query(
        "SELECT source, receiver, group_key, external_url, alert_count, truncated_alerts, status "
        "FROM deliveries ORDER BY id"
    )
    assert [tuple(row) for row in rows] == [
        (
            "alertmanager",
            "webhook",
            '{}:{alertname="ProbeValueHigh", severity="critical"}',
            "http://vm:19093",
            1,
            3,
            "firing",
        ),
        ("prometheus", None, None, None, 1, 0, None),
    ]


def test_with_the_shipped_rules_an_unlisted_alert_takes_its_service_label(
    client: TestClient,
) -> None:
    post(client, AM, webhook_with(webhook_alert("A", service="payments"), webhook_alert("B")))
    services = {alert["labels"]["alertname"]: alert["service"] for alert in alerts(client)}
    assert services == {"A": "payments", "B": "unknown"}
