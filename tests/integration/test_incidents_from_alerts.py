"""Alerts open, join, raise and resolve incidents by themselves, on both databases."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.database import create_database_engine, writing_session
from incident.jobs import detect_breaches
from rules.loader import load_rule_file
from tests.conftest import FIXTURES
from tests.integration.conftest import AppFactory, Clock, live_server
from tests.integration.payloads import webhook_alert, webhook_with
from tests.integration.test_concurrent_deliveries import deliver_all

AM = "/api/v1/webhooks/alertmanager"
EXAMPLE = FIXTURES / "example_rules.yaml"
Query = Callable[[str], list[Any]]


@pytest.fixture
def app_client(make_app: AppFactory) -> Iterator[TestClient]:
    with TestClient(make_app(rules=EXAMPLE)) as client:
        yield client


def push(client: TestClient, *alerts: dict[str, Any]) -> None:
    response = client.post(AM, json=webhook_with(*alerts))
    assert response.status_code == 200, response.text


def incidents(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/v1/incidents", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def incident(client: TestClient, incident_id: int) -> dict[str, Any]:
    response = client.get(f"/api/v1/incidents/{incident_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def disk(instance: str = "db1", severity: str = "warning") -> dict[str, Any]:
    return webhook_alert("DiskFull", severity=severity, service="payments", instance=instance)


def resolved(alert: dict[str, Any], ends_at: str) -> dict[str, Any]:
    return {**alert, "status": "resolved", "endsAt": ends_at}


def outbox(query: Query) -> list[tuple[str, str]]:
    return sorted((row[0], row[1]) for row in query("SELECT contact, reason FROM notifications"))


def test_a_warning_opens_an_incident_and_notifies_the_on_duty_engineer(
    app_client: TestClient, query: Query, clock: Clock
) -> None:
    push(app_client, disk())
    [opened] = incidents(app_client)
    assert opened["title"] == "DiskFull summary"
    assert (opened["service"], opened["level"], opened["priority"], opened["state"]) == (
        "payments",
        "warning",
        "P3",
        "open",
    )
    assert opened["source"] == "alert"
    assert opened["group_key"] == '{service="payments",alertname="DiskFull"}'
    assert opened["opened_at"] == "2026-11-21T23:00:00Z"
    assert opened["started_at"] == "2026-11-21T22:00:00Z"
    # Example P3: respond within 8 h, resolve within 72 h, around the clock.
    assert opened["response_due_at"] == "2026-11-22T07:00:00Z"
    assert opened["resolution_due_at"] == "2026-11-24T23:00:00Z"
    assert opened["alert_count"] == 1
    detail = incident(app_client, opened["id"])
    assert [alert["incident_id"] for alert in detail["alerts"]] == [opened["id"]]
    assert [event["kind"] for event in detail["timeline"]] == ["opened", "alerts_attached"]
    assert detail["timeline"][1]["after"]["fingerprints"] == [detail["alerts"][0]["fingerprint"]]
    assert outbox(query) == [("on-duty", "opened")]


def test_repeats_and_more_alerts_of_the_group_join_the_same_incident(
    app_client: TestClient, query: Query
) -> None:
    push(app_client, disk("db1"))
    push(app_client, disk("db1"))
    push(app_client, disk("db2"), disk("db1"))
    [opened] = incidents(app_client)
    assert opened["alert_count"] == 2
    assert query("SELECT count(DISTINCT incident_id), count(*) FROM alerts")[0] == (1, 2)
    joined = incident(app_client, opened["id"])["timeline"][-1]
    assert joined["kind"] == "alerts_attached"
    assert joined["after"]["alerts"] == 1
    assert outbox(query) == [("on-duty", "opened")]


def test_an_alert_of_another_group_opens_its_own_incident(app_client: TestClient) -> None:
    push(app_client, disk(), webhook_alert("Latency", severity="warning", service="payments"))
    assert sorted(i["title"] for i in incidents(app_client)) == [
        "DiskFull summary",
        "Latency summary",
    ]


def test_a_critical_alert_raises_the_incident_and_notifies_lead_and_experts(
    app_client: TestClient, query: Query, clock: Clock
) -> None:
    push(app_client, disk("db1"))
    clock.advance(minutes=5)
    push(app_client, disk("db2", severity="critical"))
    [raised] = incidents(app_client)
    assert (raised["level"], raised["priority"], raised["impact"]) == ("critical", "P2", "degraded")
    # The P2 targets, from the same opening.
    assert raised["response_due_at"] == "2026-11-22T03:00:00Z"
    timeline = incident(app_client, raised["id"])["timeline"]
    kinds = [event["kind"] for event in timeline]
    assert kinds == ["opened", "alerts_attached", "raised", "alerts_attached"]
    assert timeline[2]["before"] == {"level": "warning", "priority": "P3", "impact": "none"}
    assert timeline[2]["after"] == {"level": "critical", "priority": "P2", "impact": "degraded"}
    assert timeline[2]["at"] == "2026-11-21T23:05:00Z"
    assert outbox(query) == [
        ("experts", "raised"),
        ("lead", "raised"),
        ("on-duty", "opened"),
        ("on-duty", "raised"),
    ]


def test_a_less_severe_alert_never_lowers_the_incident(app_client: TestClient) -> None:
    push(app_client, disk("db1", severity="critical"))
    push(app_client, disk("db2"))
    [kept] = incidents(app_client)
    assert (kept["level"], kept["priority"]) == ("critical", "P2")
    kinds = [e["kind"] for e in incident(app_client, kept["id"])["timeline"]]
    assert kinds == ["opened", "alerts_attached", "alerts_attached"]


def test_the_incident_resolves_when_every_alert_has_resolved(
    app_client: TestClient, clock: Clock
) -> None:
    first, second = disk("db1"), disk("db2")
    push(app_client, first, second)
    clock.advance(minutes=30)
    push(app_client, resolved(first, "2026-11-21T23:20:00Z"))
    [still] = incidents(app_client)
    assert still["state"] == "open"
    push(app_client, resolved(second, "2026-11-21T23:25:00Z"))
    [done] = incidents(app_client)
    assert done["state"] == "resolved"
    assert done["resolved_at"] == "2026-11-21T23:25:00Z"
    assert done["resolution_seconds"] == 25 * 60
    # Resolving is also the response: no breach, measured from opening.
    assert done["response_seconds"] == 25 * 60
    assert not done["response_breached"]
    assert incident(app_client, done["id"])["timeline"][-1]["actor"] == "slakeeper"


def test_a_group_firing_again_within_the_reopen_window_reopens_and_counts_a_flap(
    app_client: TestClient, clock: Clock
) -> None:
    push(app_client, disk())
    push(app_client, resolved(disk(), "2026-11-21T23:00:00Z"))
    clock.advance(minutes=8)
    push(app_client, disk(), {**disk(), "startsAt": "2026-11-21T23:08:00Z"})
    [flapped] = incidents(app_client)
    assert (flapped["state"], flapped["flap_count"], flapped["alert_count"]) == ("open", 1, 2)
    assert flapped["resolved_at"] is None
    kinds = [e["kind"] for e in incident(app_client, flapped["id"])["timeline"]]
    assert kinds == ["opened", "alerts_attached", "resolved", "reopened", "alerts_attached"]


def test_a_group_firing_again_after_the_reopen_window_opens_a_new_incident(
    app_client: TestClient, clock: Clock
) -> None:
    push(app_client, disk())
    push(app_client, resolved(disk(), "2026-11-21T23:00:00Z"))
    clock.advance(minutes=20)
    push(app_client, {**disk(), "startsAt": "2026-11-21T23:20:00Z"})
    newest, oldest = incidents(app_client)
    assert (newest["state"], oldest["state"]) == ("open", "resolved")
    assert (newest["flap_count"], oldest["flap_count"]) == (0, 0)


def test_an_info_alert_is_recorded_without_an_incident(
    app_client: TestClient, query: Query
) -> None:
    push(app_client, webhook_alert("Heartbeat", severity="info"))
    assert incidents(app_client) == []
    assert query("SELECT count(*), max(incident_id) FROM alerts")[0] == (1, None)


def test_a_replayed_resolve_does_not_resolve_an_incident_a_person_reopened(
    app_client: TestClient, clock: Clock
) -> None:
    push(app_client, disk())
    push(app_client, resolved(disk(), "2026-11-21T23:00:00Z"))
    [first] = incidents(app_client)
    clock.advance(minutes=1)
    response = app_client.post(f"/api/v1/incidents/{first['id']}/reopen", json={"actor": "ana"})
    assert response.status_code == 200, response.text
    push(app_client, resolved(disk(), "2026-11-21T23:00:00Z"))
    [kept] = incidents(app_client)
    assert kept["state"] == "open"


@pytest.mark.parametrize("processes", [1, 3])
def test_concurrent_webhooks_for_one_group_open_one_incident(
    make_app: AppFactory, query: Query, processes: int
) -> None:
    with ExitStack() as stack:
        servers = [
            stack.enter_context(live_server(make_app(rules=EXAMPLE))) for _ in range(processes)
        ]
        for round_number in range(5):
            deliveries = [
                (
                    servers[copy % processes].url,
                    webhook_with(disk(f"db{round_number}-{copy}")),
                )
                for copy in range(8)
            ]
            assert asyncio.run(deliver_all(deliveries)) == [200] * 8
    assert query("SELECT count(*) FROM incidents")[0][0] == 1
    assert query("SELECT count(DISTINCT incident_id), count(incident_id) FROM alerts")[0] == (1, 40)
    assert query("SELECT count(*) FROM notifications")[0][0] == 1


def test_a_late_resolved_notification_withdraws_the_breach_and_keeps_the_response(
    app_client: TestClient, clock: Clock, database_url: str, query: Query
) -> None:
    alert = webhook_alert(
        "Down", starts_at="2026-11-21T22:00:00Z", service="payments", severity="critical"
    )
    push(app_client, alert)  # opened at 23:00
    [opened] = incidents(app_client)
    clock.advance(minutes=10)
    acked = app_client.post(f"/api/v1/incidents/{opened['id']}/ack", json={"actor": "ana"})
    assert acked.status_code == 200, acked.text
    # Days later, with nothing resolved, the scheduler records the resolution breach.
    clock.advance(days=10)
    engine = create_database_engine(database_url)
    with writing_session(engine) as session:
        detect_breaches(session, rules=load_rule_file(EXAMPLE), now=clock.now)
    engine.dispose()
    [breached] = incidents(app_client)
    assert breached["resolution_breached"] and breached["response_seconds"] == 600
    assert ("breach",) in set(query("SELECT reason FROM notifications"))
    # Then Alertmanager's resolved notification arrives: the alert had ended at 22:30 that day,
    # before the incident opened (it is dated from the opening, never before).
    push(app_client, resolved(alert, "2026-11-21T22:30:00Z"))
    [done] = incidents(app_client)
    assert done["state"] == "resolved" and done["resolved_at"] == "2026-11-21T23:00:00Z"
    assert done["resolution_breached"] is False
    assert done["response_seconds"] == 600  # measured at the acknowledgement, kept
    kinds = [event["kind"] for event in incident(app_client, done["id"])["timeline"]]
    assert kinds.index("breach") < kinds.index("resolved") < kinds.index("breach_withdrawn")
    [withdrawn] = [
        e for e in incident(app_client, done["id"])["timeline"] if e["kind"] == "breach_withdrawn"
    ]
    assert "late resolved notification" in withdrawn["note"]
    assert ("breach",) in set(query("SELECT reason FROM notifications"))  # sent, and kept
    metrics = app_client.get("/metrics").text
    assert 'slakeeper_sla_breaches_withdrawn_total{kind="resolution",' in metrics
    report = app_client.get("/api/v1/reports/availability", params={"month": "2026-11"}).json()
    assert report["summary"]["resolution_breaches"] == 0
