"""Alertmanager's read API, `GET /api/v2/alerts` and `GET /api/v2/status`: its shapes, checked
against the captured answers of Alertmanager 0.25, its filters, and the real `amtool`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from collector.alertmanager_api import TRUNCATED_HEADER
from collector.alertmanager_view import AlertSelection
from collector.firing import MAX_LISTED_ALERTS, firing_alerts
from core.database import create_database_engine
from slakeeper import __version__
from tests.conftest import fixture_json, fixture_text, missing
from tests.integration.conftest import AppFactory, Clock, live_server
from tests.integration.payloads import webhook_alert, webhook_with

ALERTS = "/api/v2/alerts"
STATUS = "/api/v2/status"
AM = "/api/v1/webhooks/alertmanager"
GRAFANA = "/api/v1/webhooks/grafana"


def seed(api: TestClient | httpx.Client) -> None:
    """Alerts from three routes in: two Alertmanager receivers and Prometheus' own push."""
    pushes: list[tuple[str, Any]] = [
        (
            AM,
            webhook_with(
                webhook_alert("Down", service="payments", severity="critical"),
                webhook_alert("Slow", service="payments-api", severity="warning"),
                receiver="team-payments",
            ),
        ),
        (
            AM,
            webhook_with(
                webhook_alert("Slow", service="checkout", severity="warning"),
                webhook_alert(
                    "Disk",
                    status="resolved",
                    starts_at="2026-11-21T08:00:00Z",
                    ends_at="2026-11-21T09:00:00Z",
                    service="payments",
                    severity="info",
                ),
                receiver="team-checkout",
            ),
        ),
        (ALERTS, [{"labels": {"alertname": "Watchdog"}, "startsAt": "2026-11-21T20:00:00Z"}]),
    ]
    for path, payload in pushes:
        response = api.post(path, json=payload)
        assert response.status_code == 200, response.text


@pytest.fixture
def seeded(client: TestClient) -> TestClient:
    seed(client)
    return client


def listed(api: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = api.get(ALERTS, params=params)
    assert response.status_code == 200, response.text
    alerts: list[dict[str, Any]] = response.json()
    return alerts


def names(api: TestClient, **params: Any) -> list[str]:
    return sorted(alert["labels"]["alertname"] for alert in listed(api, **params))


def test_the_firing_alerts_are_listed_with_the_keys_alertmanager_gives(
    seeded: TestClient,
) -> None:
    captured = fixture_json("alertmanager_v2_alerts.json")
    ours = listed(seeded)
    assert {alert["labels"]["alertname"] for alert in ours} == {"Down", "Slow", "Watchdog"}
    # Alertmanager leaves out an empty generatorURL: both forms occur in the capture.
    assert {frozenset(alert) for alert in ours} == {frozenset(alert) for alert in captured}
    for ours_alert in ours:
        assert set(ours_alert["status"]) == set(captured[0]["status"])
        assert [set(r) for r in ours_alert["receivers"]] == [{"name"}]
        assert ours_alert["status"] == {"inhibitedBy": [], "silencedBy": [], "state": "active"}


def test_resolved_alerts_are_not_listed(seeded: TestClient) -> None:
    assert "Disk" not in names(seeded)
    assert len(listed(seeded)) == 4


def test_alerts_are_sorted_by_fingerprint_as_alertmanager_sorts_them(seeded: TestClient) -> None:
    fingerprints = [alert["fingerprint"] for alert in listed(seeded)]
    assert fingerprints == sorted(fingerprints)
    assert len(set(fingerprints)) == len(fingerprints)


def test_times_are_the_start_the_last_delivery_and_a_resolve_timeout_ahead(
    seeded: TestClient, clock: Clock
) -> None:
    received = clock.now
    clock.advance(minutes=30)
    [watchdog] = listed(seeded, filter='alertname="Watchdog"')
    assert watchdog["startsAt"] == "2026-11-21T20:00:00.000Z"
    assert watchdog["updatedAt"] == received.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    # 30 minutes unheard of, still firing here: its endsAt stays ahead, as on a live alert.
    assert watchdog["endsAt"] == "2026-11-21T23:35:00.000Z"


def test_the_receiver_is_the_webhooks_else_the_source(seeded: TestClient) -> None:
    receivers = {
        (alert["labels"]["alertname"], alert["labels"].get("service")): alert["receivers"]
        for alert in listed(seeded)
    }
    assert receivers == {
        ("Down", "payments"): [{"name": "team-payments"}],
        ("Slow", "payments-api"): [{"name": "team-payments"}],
        ("Slow", "checkout"): [{"name": "team-checkout"}],
        ("Watchdog", None): [{"name": "prometheus"}],
    }


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (['service="payments"'], ["Down"]),
        (['service=~"pay.*"'], ["Down", "Slow"]),
        (['service=~"pay"'], []),
        (['service!~"pay.*"'], ["Slow", "Watchdog"]),
        (['service=""'], ["Watchdog"]),
        (['service!=""', 'severity="warning"'], ["Slow", "Slow"]),
        (["alertname=Down"], ["Down"]),
    ],
)
def test_filters_are_alertmanager_matchers(
    seeded: TestClient, filters: list[str], expected: list[str]
) -> None:
    assert names(seeded, filter=filters) == expected


@pytest.mark.parametrize(
    ("receiver", "expected"),
    [
        ("team-payments", ["Down", "Slow"]),
        ("team", []),
        ("team-.*", ["Down", "Slow", "Slow"]),
        ("prometheus|team-checkout", ["Slow", "Watchdog"]),
        ("", ["Down", "Slow", "Slow", "Watchdog"]),
    ],
)
def test_the_receiver_is_a_regex_on_the_whole_name(
    seeded: TestClient, receiver: str, expected: list[str]
) -> None:
    assert names(seeded, receiver=receiver) == expected


def test_every_alert_is_active_none_silenced_inhibited_or_unprocessed(seeded: TestClient) -> None:
    assert listed(seeded, active="false") == []
    everything = names(seeded)
    assert names(seeded, silenced="false", inhibited="false", unprocessed="false") == everything
    # What amtool sends when asked for silenced alerts only.
    assert names(seeded, active="false", silenced="true") == []


def test_the_latest_start_of_an_alert_firing_twice_is_the_one_listed(client: TestClient) -> None:
    for start in ("2026-11-21T10:00:00Z", "2026-11-21T12:00:00Z"):
        alert = webhook_alert("Down", starts_at=start, service="payments")
        assert client.post(AM, json=webhook_with(alert)).status_code == 200
    assert [a["startsAt"] for a in listed(client)] == ["2026-11-21T12:00:00.000Z"]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"filter": 'service=~"("'}, "filter"),
        ({"filter": "no operator"}, "filter"),
        ({"receiver": "team-("}, "receiver"),
    ],
)
def test_a_bad_matcher_or_receiver_is_a_400_with_a_json_error(
    seeded: TestClient, params: dict[str, str], parameter: str
) -> None:
    response = seeded.get(ALERTS, params=params)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "bad_request"
    assert error["details"] == {"field": parameter}


@pytest.mark.parametrize("params", [{"active": "maybe"}, {"limit": "5"}])
def test_an_unknown_or_invalid_parameter_is_a_400(
    seeded: TestClient, params: dict[str, str]
) -> None:
    assert seeded.get(ALERTS, params=params).status_code == 400


def test_the_list_stops_at_its_bound_and_says_so(client: TestClient) -> None:
    alerts = [{"labels": {"alertname": "Big", "n": str(n)}} for n in range(MAX_LISTED_ALERTS + 1)]
    assert client.post(ALERTS, json=alerts).status_code == 200
    response = client.get(ALERTS)
    assert response.status_code == 200
    assert response.headers[TRUNCATED_HEADER] == "true"
    fingerprints = [alert["fingerprint"] for alert in response.json()]
    assert len(fingerprints) == MAX_LISTED_ALERTS
    assert fingerprints == sorted(fingerprints)
    small = client.get(ALERTS, params={"filter": 'n="7"'})
    assert TRUNCATED_HEADER not in small.headers
    assert len(small.json()) == 1


def test_a_regex_read_examines_at_most_its_scan_budget(
    seeded: TestClient, database_url: str
) -> None:
    engine = create_database_engine(database_url)
    try:
        selection = AlertSelection.parse(active=True, filters=['alertname=~".+"'], receiver=None)
        with Session(engine) as session:
            whole = firing_alerts(session, selection)
            stopped = firing_alerts(session, selection, scan_budget=2)
            limited = firing_alerts(session, selection, limit=3)
    finally:
        engine.dispose()
    assert (len(whole.alerts), whole.truncated) == (4, False)
    assert (len(stopped.alerts), stopped.truncated) == (2, True)
    assert (len(limited.alerts), limited.truncated) == (3, True)
    assert [a.fingerprint for a in limited.alerts] == [a.fingerprint for a in whole.alerts][:3]


def test_the_status_has_the_keys_alertmanager_gives(client: TestClient, clock: Clock) -> None:
    captured = fixture_json("alertmanager_v2_status.json")
    status = client.get(STATUS).json()
    assert set(status) == set(captured)
    for part in ("cluster", "config", "versionInfo"):
        assert set(status[part]) == set(captured[part]), part
        assert {type(v) for v in status[part].values()} <= {str, list}
    assert status["cluster"] == {"peers": [], "status": "disabled"}
    assert status["versionInfo"]["version"] == __version__
    assert status["versionInfo"]["goVersion"].startswith("python3.")
    assert status["uptime"] == clock.now.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_the_alertmanager_routes_share_the_path_of_the_push_and_are_tagged(
    client: TestClient,
) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths[ALERTS]) == {"get", "post"}
    assert paths[ALERTS]["get"]["tags"] == ["alertmanager"]
    assert paths[STATUS]["get"]["tags"] == ["alertmanager"]
    parameters = {p["name"] for p in paths[ALERTS]["get"]["parameters"]}
    assert parameters == {"active", "silenced", "inhibited", "unprocessed", "filter", "receiver"}


def test_with_api_tokens_the_reads_need_a_credential_as_the_other_reads_do(
    make_app: AppFactory,
) -> None:
    token = "api-token-0123456789"
    with TestClient(make_app(api_tokens=token, ingest_tokens="ingest-token-0123456789")) as api:
        # Once a credential is configured, reads need one too, `GET /api/v1/alerts` included.
        assert api.get("/api/v1/alerts").status_code == 401
        assert api.get(ALERTS).status_code == 401
        assert api.get(STATUS).status_code == 401
        bearer = {"Authorization": f"Bearer {token}"}
        assert api.get(ALERTS, headers=bearer).status_code == 200
        assert api.get(STATUS, headers=bearer).status_code == 200
        # The push on the same path still needs an ingest token.
        assert api.post(ALERTS, json=[{"labels": {"alertname": "X"}}]).status_code == 401


def amtool() -> str:
    """The amtool binary; without it, skip (or fail with CI=true)."""
    found = shutil.which("amtool") or shutil.which("amtool", path="/usr/bin")
    if found is None:
        missing("amtool not found on PATH or in /usr/bin")
    return found


def run_amtool(url: str, home: Path, *args: str) -> str:
    completed = subprocess.run(
        [amtool(), f"--alertmanager.url={url}", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin"},  # no amtool config of the user's
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def test_amtool_queries_the_alerts_users_pushed(make_app: AppFactory, tmp_path: Path) -> None:
    with live_server(make_app()) as server:
        with httpx.Client(base_url=server.url, timeout=10) as api:
            seed(api)

        def query(*args: str) -> list[tuple[str, str]]:
            alerts = json.loads(
                run_amtool(server.url, tmp_path, "alert", "query", "-o", "json", *args)
            )
            return sorted(
                (a["labels"]["alertname"], a["labels"].get("service", "")) for a in alerts
            )

        assert query() == [
            ("Down", "payments"),
            ("Slow", "checkout"),
            ("Slow", "payments-api"),
            ("Watchdog", ""),
        ]
        assert query('service=~"pay.*"') == [("Down", "payments"), ("Slow", "payments-api")]
        assert query("Slow") == [("Slow", "checkout"), ("Slow", "payments-api")]
        assert query("--receiver=team-checkout") == [("Slow", "checkout")]
        assert query("--receiver=prometheus", "-a") == [("Watchdog", "")]
        assert query("-s") == []  # silenced only: slakeeper holds no silences
        table = run_amtool(server.url, tmp_path, "alert", "query", "service=payments")
        assert table.splitlines()[1].split()[0] == "Down"
        assert "Down summary" in table


def test_amtool_shows_the_config_and_the_cluster(make_app: AppFactory, tmp_path: Path) -> None:
    with live_server(make_app()) as server:
        config = run_amtool(server.url, tmp_path, "config", "show")
        cluster = run_amtool(server.url, tmp_path, "cluster", "show")
        routes = run_amtool(server.url, tmp_path, "config", "routes", "show")
    assert f"# slakeeper {__version__} answers Alertmanager's read API" in config
    assert "receiver: slakeeper" in config
    assert cluster.split() == ["Cluster", "Status:", "disabled", "Node", "Name:"]
    assert "slakeeper" in routes
    # What config show prints is an Alertmanager configuration that Alertmanager accepts.
    (tmp_path / "presented.yml").write_text(config)
    checked = subprocess.run(
        [amtool(), "check-config", str(tmp_path / "presented.yml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_capture_fixtures_are_alertmanagers_own() -> None:
    # The shapes above are compared with these; they must stay Alertmanager 0.25's answers.
    assert '"version": "0.25.0"' in fixture_text("alertmanager_v2_status.json")
