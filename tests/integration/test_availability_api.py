"""Availability figures from stored alerts, incidents and maintenance windows, over HTTP.

The example rule file puts `payments` in Asia/Shanghai (99.5 %) with a two-hour one-off
maintenance on 1 November 02:00-04:00 local, and `checkout` in Europe/Berlin (99.9 %) with
one hour every Sunday at 03:00 local. The test clock stands at 2026-11-21 23:00 UTC, so
November is month-to-date: it ends now.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import FIXTURES
from tests.integration.conftest import AppFactory, Clock
from tests.integration.payloads import webhook_alert, webhook_with

EXAMPLE = FIXTURES / "example_rules.yaml"
API_TOKEN = "api-token-0123456789"
AM = "/api/v1/webhooks/alertmanager"
# November in Shanghai began at 2026-10-31 16:00 UTC; the clock stands at 11-21 23:00 UTC.
NOVEMBER_SO_FAR = (21 * 24 + 7) * 3600
PAYMENTS_MAINTENANCE = 2 * 3600


@pytest.fixture
def api(make_app: AppFactory) -> Iterator[TestClient]:
    with TestClient(make_app(rules=EXAMPLE)) as client:
        yield client


def push(api: TestClient, *alerts: dict[str, Any]) -> None:
    response = api.post(AM, json=webhook_with(*alerts))
    assert response.status_code == 200, response.text


def down(instance: str, start: str, end: str | None = None) -> dict[str, Any]:
    """InstanceDown of payments: an outage-impact alert, resolved at `end` if given."""
    if end is None:
        return webhook_alert("InstanceDown", starts_at=start, service="payments", instance=instance)
    return webhook_alert(
        "InstanceDown",
        status="resolved",
        starts_at=start,
        ends_at=end,
        service="payments",
        instance=instance,
    )


def figures(api: TestClient, service: str = "payments", **query: str) -> dict[str, Any]:
    response = api.get(
        f"/api/v1/services/{service}/availability", params=query or {"month": "2026-11"}
    )
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def test_an_outage_alert_counts_from_its_start_to_its_end(api: TestClient) -> None:
    push(api, down("db1", "2026-11-10T10:00:00Z"))
    push(api, down("db1", "2026-11-10T10:00:00Z", "2026-11-10T10:30:00Z"))

    got = figures(api)

    usable = NOVEMBER_SO_FAR - PAYMENTS_MAINTENANCE
    assert got["from"] == "2026-10-31T16:00:00Z"
    assert got["to"] == "2026-11-21T23:00:00Z"
    assert got["total_seconds"] == NOVEMBER_SO_FAR
    assert got["maintenance_seconds"] == PAYMENTS_MAINTENANCE
    assert got["downtime_seconds"] == 1800
    assert got["availability_ratio"] == pytest.approx((usable - 1800) / usable, abs=1e-12)
    assert got["target_ratio"] == pytest.approx(0.995)
    assert got["met"] is True
    assert got["error_budget_seconds"] == pytest.approx(round(0.005 * usable))
    assert got["error_budget_remaining_seconds"] == pytest.approx(round(0.005 * usable) - 1800)
    assert got["warranty_extension_days"] == 1


def test_downtime_is_exact_to_the_microsecond_on_both_databases(api: TestClient) -> None:
    # A start a hair before the next second: read as whole seconds plus a fraction, never
    # rounded up (SQLite's strftime would round .9996 to the next second).
    push(api, down("db1", "2026-11-10T10:00:00.999600Z"))
    push(api, down("db1", "2026-11-10T10:00:00.999600Z", "2026-11-10T10:30:00.000100Z"))
    assert figures(api)["downtime_seconds"] == 1799.0005


def test_overlapping_outages_count_once_and_a_firing_one_counts_until_now(
    api: TestClient, clock: Clock
) -> None:
    push(api, down("db1", "2026-11-10T10:00:00Z", "2026-11-10T11:00:00Z"))
    push(api, down("db2", "2026-11-10T10:30:00Z", "2026-11-10T11:30:00Z"))
    push(api, down("db3", "2026-11-21T22:00:00Z"))  # still firing at 23:00

    assert figures(api)["downtime_seconds"] == 90 * 60 + 3600
    clock.advance(minutes=10)
    assert figures(api)["downtime_seconds"] == 90 * 60 + 3600 + 600


def test_maintenance_hides_the_outage_it_covers_and_deleting_it_brings_it_back(
    api: TestClient,
) -> None:
    push(api, down("db1", "2026-11-10T10:00:00Z", "2026-11-10T12:00:00Z"))
    planned = api.post(
        "/api/v1/maintenance",
        json={
            "service": "payments",
            "start": "2026-11-10T11:00:00Z",
            "end": "2026-11-10T13:00:00Z",
            "reason": "database failover drill",
            "actor": "ana",
        },
    )
    assert planned.status_code == 201, planned.text
    window = planned.json()
    assert planned.headers["location"] == f"/api/v1/maintenance/{window['id']}"

    got = figures(api)
    assert got["downtime_seconds"] == 3600
    assert got["maintenance_seconds"] == PAYMENTS_MAINTENANCE + 2 * 3600

    deleted = api.delete(f"/api/v1/maintenance/{window['id']}", params={"actor": "ana"})
    assert deleted.status_code == 200, deleted.text
    assert figures(api)["downtime_seconds"] == 2 * 3600
    again = api.delete(f"/api/v1/maintenance/{window['id']}", params={"actor": "ana"})
    assert again.status_code == 404


def test_a_recurring_window_runs_in_the_services_time_zone(api: TestClient) -> None:
    # checkout: every Sunday 03:00 Berlin time (02:00 UTC in November), one hour, from the
    # rule file. November 2026's Sundays so far: 1, 8, 15 (the 22nd 02:00 UTC is after now).
    listed = api.get(
        "/api/v1/maintenance",
        params={
            "service": "checkout",
            "from": "2026-11-01T00:00:00+01:00",
            "to": "2026-11-21T23:00:00Z",
        },
    ).json()["items"]
    assert [item["origin"] for item in listed] == ["rules"]
    assert [o["start"] for o in listed[0]["occurrences"]] == [
        "2026-11-01T02:00:00Z",
        "2026-11-08T02:00:00Z",
        "2026-11-15T02:00:00Z",
    ]
    got = figures(api, "checkout")
    assert got["from"] == "2026-10-31T23:00:00Z"
    assert got["maintenance_seconds"] == 3 * 3600


def test_a_manual_outage_counts_from_its_reported_start_to_its_resolution(
    api: TestClient, clock: Clock
) -> None:
    reported = api.post(
        "/api/v1/incidents",
        json={
            "title": "Card payments fail",
            "service": "payments",
            "priority": "P2",
            "impact": "outage",
            "reporter": "shop owner",
            "channel": "phone",
            "started_at": "2026-11-21T22:15:00Z",
        },
    ).json()
    clock.advance(minutes=20)
    resolved = api.post(f"/api/v1/incidents/{reported['id']}/resolve", json={"actor": "ana"})
    assert resolved.status_code == 200, resolved.text
    clock.advance(hours=1)

    assert figures(api)["downtime_seconds"] == 65 * 60


def test_lowering_an_incidents_impact_removes_its_alerts_downtime(api: TestClient) -> None:
    push(api, down("db1", "2026-11-10T10:00:00Z"))
    push(api, down("db1", "2026-11-10T10:00:00Z", "2026-11-10T10:30:00Z"))
    [incident] = api.get("/api/v1/incidents").json()["items"]
    assert figures(api)["downtime_seconds"] == 1800

    changed = api.patch(
        f"/api/v1/incidents/{incident['id']}",
        json={"impact": "none", "actor": "ana", "note": "the probe was broken, not the service"},
    )
    assert changed.status_code == 200, changed.text
    assert figures(api)["downtime_seconds"] == 0

    api.patch(f"/api/v1/incidents/{incident['id']}", json={"impact": "degraded", "actor": "ana"})
    got = figures(api)
    assert (got["downtime_seconds"], got["degraded_seconds"]) == (0, 1800)


def test_raising_an_alert_incident_to_outage_counts_it_from_start_to_resolution(
    api: TestClient, clock: Clock
) -> None:
    clock.now = datetime(2026, 11, 10, 10, 0, 30, tzinfo=UTC)
    latency = {"severity": "warning", "service": "payments"}
    push(api, webhook_alert("Latency", starts_at="2026-11-10T10:00:00Z", **latency))
    [incident] = api.get("/api/v1/incidents").json()["items"]
    assert figures(api)["downtime_seconds"] == 0

    api.patch(f"/api/v1/incidents/{incident['id']}", json={"impact": "outage", "actor": "ana"})
    clock.advance(minutes=50)
    push(
        api,
        webhook_alert(
            "Latency",
            status="resolved",
            starts_at="2026-11-10T10:00:00Z",
            ends_at="2026-11-10T10:45:00Z",
            **latency,
        ),
    )
    clock.advance(hours=2)
    assert figures(api)["downtime_seconds"] == 45 * 60


def test_services_show_whether_they_are_down_now(api: TestClient) -> None:
    push(api, down("db1", "2026-11-21T22:00:00Z"))
    services = {item["name"]: item for item in api.get("/api/v1/services").json()["items"]}
    assert services["payments"]["state"] == "down"
    assert services["payments"]["up"] is False
    assert services["payments"]["open_incidents"] == 1
    assert services["payments"]["open_incidents_by_priority"] == {"P1": 1}
    assert services["checkout"]["state"] == "up"
    assert services["checkout"]["timezone"] == "Europe/Berlin"

    push(api, down("db1", "2026-11-21T22:00:00Z", "2026-11-21T22:50:00Z"))
    services = {item["name"]: item for item in api.get("/api/v1/services").json()["items"]}
    assert services["payments"]["state"] == "up"
    assert services["payments"]["open_incidents"] == 0


def test_a_range_and_the_default_month_to_date_are_periods_too(api: TestClient) -> None:
    push(api, down("db1", "2026-11-10T10:00:00Z", "2026-11-10T10:30:00Z"))
    ranged = figures(api, **{"from": "2026-11-10T10:15:00Z", "to": "2026-11-10T11:15:00Z"})
    assert (ranged["total_seconds"], ranged["downtime_seconds"]) == (3600, 900)
    assert figures(api, **{"from": "2026-11-01T00:00:00+08:00", "to": "2099-01-01T00:00:00Z"})[
        "to"
    ] == ("2026-11-21T23:00:00Z")
    default = api.get("/api/v1/services/payments/availability").json()
    assert default["from"] == "2026-10-31T16:00:00Z"


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"month": "2026-13"}, 400),
        ({"month": "november"}, 400),
        ({"month": "2027-01"}, 422),
        ({"month": "2026-11", "from": "2026-11-01T00:00:00Z"}, 400),
        ({"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"}, 400),
    ],
)
def test_a_period_that_cannot_be_gets_a_clear_error(
    api: TestClient, query: dict[str, str], status: int
) -> None:
    response = api.get("/api/v1/services/payments/availability", params=query)
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"]


def test_an_unknown_service_is_not_found(api: TestClient) -> None:
    response = api.get("/api/v1/services/nonesuch/availability", params={"month": "2026-11"})
    assert response.status_code == 404
    assert "nonesuch" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"service": "payments", "start": "2026-11-10T11:00:00Z", "actor": "ana"},
        {
            "service": "payments",
            "start": "2026-11-10T11:00:00Z",
            "end": "2026-11-10T10:00:00Z",
            "actor": "ana",
        },
        {"service": "payments", "cron": "0 3 * *", "duration": "1h", "actor": "ana"},
        {"service": "payments", "cron": "0 3 * * sun", "duration": "2bd", "actor": "ana"},
        {
            "service": "payments",
            "start": "2026-11-10T11:00:00Z",
            "end": "2026-11-10T12:00:00Z",
            "cron": "0 3 * * sun",
            "duration": "1h",
            "actor": "ana",
        },
    ],
)
def test_an_invalid_maintenance_window_is_refused_and_nothing_is_stored(
    api: TestClient, body: dict[str, Any], query: Any
) -> None:
    response = api.post("/api/v1/maintenance", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["message"]
    assert query("SELECT count(*) FROM maintenance_windows")[0][0] == 0


def test_a_maintenance_body_that_does_not_parse_is_a_bad_request(
    api: TestClient, query: Any
) -> None:
    body = {"service": "payments", "start": "2026-11-10T11:00:00", "end": "2026-11-10T12:00:00"}
    response = api.post("/api/v1/maintenance", json=body)
    assert response.status_code == 400, response.text
    assert {item["field"] for item in response.json()["error"]["details"]} == {
        "start",
        "end",
    }
    assert query("SELECT count(*) FROM maintenance_windows")[0][0] == 0


def test_maintenance_writes_need_an_api_token_when_tokens_are_set(
    make_app: AppFactory, query: Any
) -> None:
    body = {
        "service": "payments",
        "start": "2026-11-10T11:00:00Z",
        "end": "2026-11-10T12:00:00Z",
        "actor": "ana",
    }
    with TestClient(make_app(rules=EXAMPLE, api_tokens=API_TOKEN)) as client:
        assert client.post("/api/v1/maintenance", json=body).status_code == 401
        assert query("SELECT count(*) FROM maintenance_windows")[0][0] == 0
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        created = client.post("/api/v1/maintenance", json=body, headers=headers)
        assert created.status_code == 201
        path = f"/api/v1/maintenance/{created.json()['id']}"
        assert client.delete(path, params={"actor": "ana"}).status_code == 401
        assert client.delete(path, params={"actor": "ana"}, headers=headers).status_code == 200
    # Deleted windows stay in the table, marked, for the record.
    assert query("SELECT deleted_by FROM maintenance_windows")[0][0] == "ana"
