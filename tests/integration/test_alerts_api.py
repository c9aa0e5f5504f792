"""`GET /api/v1/alerts`: filters, label matchers, time windows and cursor pagination."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from collector.alerts import AlertStatus
from collector.listing import list_alerts
from collector.store import AlertQuery
from core.database import create_database_engine
from rules.matchers import parse_matcher
from tests.integration.payloads import webhook_alert, webhook_with

AM = "/api/v1/webhooks/alertmanager"


@pytest.fixture
def seeded(client: TestClient) -> TestClient:
    """Five instances: two services, three severities, one resolved, one without service."""
    alerts = [
        webhook_alert(
            "Down", starts_at="2026-11-21T10:00:00Z", service="payments", severity="critical"
        ),
        webhook_alert(
            "Slow", starts_at="2026-11-21T11:00:00Z", service="payments", severity="warning"
        ),
        webhook_alert(
            "Slow", starts_at="2026-11-21T12:00:00Z", service="checkout", severity="warning"
        ),
        webhook_alert(
            "Disk",
            status="resolved",
            starts_at="2026-11-21T08:00:00Z",
            ends_at="2026-11-21T09:00:00Z",
            service="checkout",
            severity="info",
        ),
        webhook_alert("Orphan", starts_at="2026-11-21T13:00:00Z"),
    ]
    for alert in alerts:
        assert client.post(AM, json=webhook_with(alert)).status_code == 200
    return client


def names(client: TestClient, **params: Any) -> list[str]:
    response = client.get("/api/v1/alerts", params=params)
    assert response.status_code == 200, response.text
    return [item["labels"]["alertname"] for item in response.json()["items"]]


def test_all_alerts_come_newest_first(seeded: TestClient) -> None:
    assert names(seeded) == ["Orphan", "Disk", "Slow", "Slow", "Down"]


def test_alerts_filter_by_status_service_and_fingerprint(seeded: TestClient) -> None:
    assert names(seeded, status="resolved") == ["Disk"]
    assert names(seeded, service="payments") == ["Slow", "Down"]
    [down] = seeded.get("/api/v1/alerts", params={"service": "payments"}).json()["items"][1:]
    assert names(seeded, fingerprint=down["fingerprint"]) == ["Down"]


@pytest.mark.parametrize(
    ("matchers", "expected"),
    [
        (['severity="warning"'], ["Slow", "Slow"]),
        (['severity!="warning"'], ["Orphan", "Disk", "Down"]),
        (['severity=~"crit.*|info"'], ["Disk", "Down"]),
        (['severity=~"crit"'], []),
        (['severity!~"warning|info"'], ["Orphan", "Down"]),
        (['service=""'], ["Orphan"]),
        (['service="checkout"', 'alertname="Slow"'], ["Slow"]),
    ],
)
def test_alerts_filter_by_label_matchers(
    seeded: TestClient, matchers: list[str], expected: list[str]
) -> None:
    assert names(seeded, filter=matchers) == expected


def test_since_and_until_select_alerts_active_in_between(seeded: TestClient) -> None:
    assert names(seeded, since="2026-11-21T09:30:00Z") == ["Orphan", "Slow", "Slow", "Down"]
    assert names(seeded, until="2026-11-21T10:30:00Z") == ["Disk", "Down"]
    window = {"since": "2026-11-21T10:30:00+01:00", "until": "2026-11-21T11:00:00Z"}
    assert names(seeded, **window) == ["Down"]


def test_pages_follow_the_cursor_without_gaps_or_repeats(seeded: TestClient) -> None:
    seen: list[int] = []
    params: dict[str, Any] = {"limit": 2}
    pages = 0
    while True:
        body = seeded.get("/api/v1/alerts", params=params).json()
        seen.extend(item["id"] for item in body["items"])
        pages += 1
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert pages == 3
    assert seen == sorted(seen, reverse=True)
    assert len(set(seen)) == 5


def test_a_full_last_page_has_no_cursor(seeded: TestClient) -> None:
    assert seeded.get("/api/v1/alerts", params={"limit": 5}).json()["next_cursor"] is None


@pytest.mark.parametrize(
    "params",
    [
        {"filter": 'severity=~"("'},
        {"filter": "no operator"},
        {"cursor": "garbage!"},
        {"status": "burning"},
        {"since": "yesterday"},
        {"since": "2026-11-21T09:30:00"},
        {"limit": 0},
        {"limit": 1001},
    ],
)
def test_bad_query_parameters_are_a_400_with_a_json_error(
    seeded: TestClient, params: dict[str, Any]
) -> None:
    response = seeded.get("/api/v1/alerts", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "bad_request"
    assert response.json()["error"]["message"]


def test_each_alert_has_the_documented_fields(seeded: TestClient) -> None:
    item = seeded.get("/api/v1/alerts", params={"limit": 1}).json()["items"][0]
    assert set(item) >= {
        "fingerprint",
        "starts_at",
        "ends_at",
        "status",
        "labels",
        "annotations",
        "source",
        "receive_count",
        "first_received_at",
        "last_received_at",
        "incident_id",
        "service",
        "level",
        "priority",
        "category",
        "impact",
    }


@pytest.mark.timeout(30)
def test_a_regex_filter_is_linear_and_alertmanagers(client: TestClient) -> None:
    # `(.|.)*Z` against 40 characters: 2^40 steps for a backtracking engine (6.8 s at 26).
    alerts = [webhook_alert("Long", r="a" * 40), webhook_alert("Hit", r="a" * 39 + "Z")]
    assert client.post(AM, json=webhook_with(*alerts)).status_code == 200
    assert names(client, filter='r=~"(.|.)*Z"') == ["Hit"]
    assert names(client, filter='r!~"(.|.)*Z"') == ["Long"]
    assert names(client, filter=['alertname=~"H.t|Long"', 'r=~"a+"']) == ["Long"]


@pytest.mark.parametrize("pattern", [r"(a)\\1", "(?=a)a"])
def test_a_filter_alertmanager_would_refuse_is_a_400(client: TestClient, pattern: str) -> None:
    response = client.get("/api/v1/alerts", params={"filter": f'r=~"{pattern}"'})
    assert response.status_code == 400, response.text
    assert "invalid regular expression" in response.json()["error"]["message"]


def test_a_regex_read_examines_a_bounded_number_of_rows(
    client: TestClient, database_url: str
) -> None:
    alerts = [webhook_alert("A", n=str(n), even=str(n % 2 == 0)) for n in range(25)]
    assert client.post(AM, json=webhook_with(*alerts)).status_code == 200
    engine = create_database_engine(database_url)
    matchers = (parse_matcher('even=~"T.*"'),)
    seen: list[str] = []
    pages, after = 0, None
    with Session(engine) as session:
        while pages == 0 or after is not None:
            # Each read looks at no more than 5 rows; its cursor continues where it stopped.
            query = AlertQuery(matchers=matchers, limit=4, after_id=after)
            rows, after = list_alerts(session, query, scan_budget=5)
            seen.extend(row.labels["n"] for row in rows)
            pages += 1
    engine.dispose()
    assert sorted(seen, key=int) == [str(n) for n in range(0, 25, 2)]
    assert len(seen) == len(set(seen)) and pages >= 5


def test_a_filter_no_index_serves_examines_a_window_and_its_cursors_find_every_match(
    client: TestClient, database_url: str
) -> None:
    # Every fifth alert is critical: a window of 4 ids holds at most one, often none.
    alerts = [
        webhook_alert("A", n=str(n), severity="critical" if n % 5 == 0 else "warning")
        for n in range(23)
    ]
    for alert in alerts:
        assert client.post(AM, json=webhook_with(alert)).status_code == 200
    engine = create_database_engine(database_url)
    seen: list[str] = []
    sizes: list[int] = []
    after = None
    with Session(engine) as session:
        while True:
            query = AlertQuery(level="critical", limit=3, after_id=after)
            rows, after = list_alerts(session, query, scan_budget=4)
            seen.extend(row.labels["n"] for row in rows)
            sizes.append(len(rows))
            if after is None:
                break
    engine.dispose()
    assert seen == ["20", "15", "10", "5", "0"]  # newest first, each once
    assert max(sizes) <= 1 and 0 in sizes and len(sizes) >= 23 // 4


def test_a_service_or_the_firing_alerts_fill_every_page_whatever_the_window(
    client: TestClient, database_url: str
) -> None:
    for n in range(12):
        alert = webhook_alert("B", n=str(n), service="rare" if n in (0, 11) else "common")
        assert client.post(AM, json=webhook_with(alert)).status_code == 200
    engine = create_database_engine(database_url)
    with Session(engine) as session:
        rows, after = list_alerts(session, AlertQuery(service="rare", limit=5), scan_budget=2)
        firing, _ = list_alerts(
            session, AlertQuery(status=AlertStatus.FIRING, limit=12), scan_budget=2
        )
    engine.dispose()
    assert [row.labels["n"] for row in rows] == ["11", "0"] and after is None
    assert len(firing) == 12
