"""NOC staff report, acknowledge, resolve, close, reopen, annotate and reclassify incidents."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.database import create_database_engine
from incident.queries import IncidentQuery, list_incidents
from tests.conftest import FIXTURES
from tests.integration.conftest import AppFactory, Clock

EXAMPLE = FIXTURES / "example_rules.yaml"
INCIDENTS = "/api/v1/incidents"
Query = Callable[[str], list[Any]]

REPORT = {
    "title": "Customers cannot pay by card",
    "service": "payments",
    "priority": "P2",
    "impact": "outage",
    "category": "software",
    "reporter": "Li Wei (customer)",
    "channel": "phone",
}


@pytest.fixture
def api(make_app: AppFactory) -> Iterator[TestClient]:
    with TestClient(make_app(rules=EXAMPLE)) as client:
        yield client


def report(api: TestClient, **changes: Any) -> dict[str, Any]:
    response = api.post(INCIDENTS, json={**REPORT, **changes})
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"{INCIDENTS}/{response.json()['id']}"
    created: dict[str, Any] = response.json()
    return created


def act(api: TestClient, incident_id: int, action: str, **body: Any) -> dict[str, Any]:
    response = api.post(f"{INCIDENTS}/{incident_id}/{action}", json={"actor": "ana", **body})
    assert response.status_code == 200, response.text
    done: dict[str, Any] = response.json()
    return done


def timeline(api: TestClient, incident_id: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = api.get(f"{INCIDENTS}/{incident_id}").json()["timeline"]
    return events


def counts(query: Query) -> tuple[int, int, int]:
    row = query(
        "SELECT (SELECT count(*) FROM incidents), (SELECT count(*) FROM incident_events),"
        " (SELECT count(*) FROM notifications)"
    )[0]
    return (row[0], row[1], row[2])


def test_a_reported_incident_is_open_with_its_clocks_started(api: TestClient, query: Query) -> None:
    created = report(api, started_at="2026-11-21T22:40:00+01:00")
    assert {key: created[key] for key in REPORT} == REPORT
    assert created["source"] == "manual"
    assert created["state"] == "open"
    assert created["group_key"] is None
    assert created["started_at"] == "2026-11-21T21:40:00Z"
    assert created["opened_at"] == "2026-11-21T23:00:00Z"
    assert created["response_due_at"] == "2026-11-22T03:00:00Z"
    assert created["resolution_due_at"] == "2026-11-23T23:00:00Z"
    # The file's default level (warning) notifies the on-duty engineer.
    assert created["level"] == "warning"
    assert query("SELECT contact, reason FROM notifications") == [("on-duty", "opened")]
    [opened] = timeline(api, created["id"])
    assert (opened["kind"], opened["actor"]) == ("opened", "local-admin")


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"priority": "P9"}, 422, "priority"),
        ({"level": "panic"}, 422, "level"),
        ({"started_at": "2026-11-22T05:00:00Z"}, 422, "started_at"),
        ({"channel": "pigeon"}, 400, "channel"),
        ({"impact": "total"}, 400, "impact"),
        ({"surprise": 1}, 400, "surprise"),
        ({"title": ""}, 400, "title"),
        ({"started_at": "2026-11-21T22:00:00"}, 400, "started_at"),
    ],
)
def test_a_bad_report_is_refused_and_stores_nothing(
    api: TestClient, query: Query, changes: dict[str, Any], status: int, field: str
) -> None:
    response = api.post(INCIDENTS, json={**REPORT, **changes})
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert field in str(error["details"]) or field in error["message"]
    assert counts(query) == (0, 0, 0)


def test_the_lifecycle_runs_open_to_closed_with_every_step_on_the_timeline(
    api: TestClient, clock: Clock
) -> None:
    created = report(api)
    clock.advance(minutes=20)
    acked = act(api, created["id"], "ack", note="looking at the card gateway")
    assert (acked["state"], acked["acknowledged_by"]) == ("acknowledged", "ana")
    assert acked["acknowledged_at"] == "2026-11-21T23:20:00Z"
    assert acked["response_seconds"] == 20 * 60
    clock.advance(hours=2)
    done = act(api, created["id"], "resolve")
    assert (done["state"], done["resolved_at"]) == ("resolved", "2026-11-22T01:20:00Z")
    assert done["resolution_seconds"] == (2 * 60 + 20) * 60
    clock.advance(hours=1)
    closed = act(api, created["id"], "close", confirmed_by="Li Wei")
    assert (closed["state"], closed["closed_by"]) == ("closed", "Li Wei")
    events = timeline(api, created["id"])
    assert [(e["kind"], e["actor"]) for e in events] == [
        ("opened", "local-admin"),
        ("acknowledged", "ana"),
        ("resolved", "ana"),
        ("closed", "ana"),
    ]
    assert events[1]["note"] == "looking at the card gateway"
    assert events[1]["before"] == {"state": "open"}
    assert events[1]["after"] == {"state": "acknowledged"}
    assert events[3]["after"] == {"state": "closed", "confirmed_by": "Li Wei"}
    reopened = act(api, created["id"], "reopen", note="it is back")
    assert (reopened["state"], reopened["resolved_at"], reopened["closed_at"]) == (
        "open",
        None,
        None,
    )
    assert reopened["flap_count"] == 0


@pytest.mark.parametrize(
    ("steps", "action", "state"),
    [
        ([], "close", "open"),
        ([], "reopen", "open"),
        (["ack"], "ack", "acknowledged"),
        (["resolve"], "resolve", "resolved"),
        (["resolve"], "ack", "resolved"),
    ],
)
def test_an_invalid_transition_gets_409_and_changes_nothing(
    api: TestClient, query: Query, steps: list[str], action: str, state: str
) -> None:
    created = report(api)
    for step in steps:
        act(api, created["id"], step)
    before = counts(query)
    body = {"actor": "bo", **({"confirmed_by": "x"} if action == "close" else {})}
    response = api.post(f"{INCIDENTS}/{created['id']}/{action}", json=body)
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_transition"
    assert error["details"] == {"state": state, "action": action}
    assert counts(query) == before
    assert api.get(f"{INCIDENTS}/{created['id']}").json()["state"] == state


def test_close_requires_who_confirmed_the_resolution(api: TestClient) -> None:
    created = report(api)
    act(api, created["id"], "resolve")
    response = api.post(f"{INCIDENTS}/{created['id']}/close", json={"actor": "ana"})
    assert response.status_code == 400
    assert "confirmed_by" in response.text


def test_actions_on_an_unknown_incident_get_404(api: TestClient) -> None:
    assert api.get(f"{INCIDENTS}/999").status_code == 404
    response = api.post(f"{INCIDENTS}/999/ack", json={"actor": "ana"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_notes_go_on_the_timeline(api: TestClient) -> None:
    created = report(api)
    response = api.post(
        f"{INCIDENTS}/{created['id']}/notes", json={"actor": "bo", "note": "vendor called back"}
    )
    assert response.status_code == 201, response.text
    note = timeline(api, created["id"])[-1]
    assert (note["kind"], note["actor"], note["note"]) == ("note", "bo", "vendor called back")
    empty = api.post(f"{INCIDENTS}/{created['id']}/notes", json={"actor": "bo", "note": ""})
    assert empty.status_code == 400


def test_reclassification_is_audited_and_moves_the_clocks(api: TestClient, clock: Clock) -> None:
    created = report(api, priority="P3", impact="degraded")
    clock.advance(minutes=10)
    response = api.patch(
        f"{INCIDENTS}/{created['id']}",
        json={"actor": "ana", "priority": "P1", "impact": "outage", "note": "all cards fail"},
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["priority"], changed["impact"]) == ("P1", "outage")
    assert changed["response_due_at"] == "2026-11-22T00:00:00Z"
    assert changed["resolution_due_at"] == "2026-11-22T23:00:00Z"
    event = timeline(api, created["id"])[-1]
    assert event["kind"] == "reclassified"
    assert event["before"] == {"priority": "P3", "impact": "degraded"}
    assert event["after"] == {"priority": "P1", "impact": "outage"}
    assert event["note"] == "all cards fail"


def test_reclassification_to_an_unknown_priority_or_to_nothing_is_refused(
    api: TestClient, query: Query
) -> None:
    created = report(api)
    before = counts(query)
    unknown = api.patch(f"{INCIDENTS}/{created['id']}", json={"actor": "a", "priority": "P0"})
    assert unknown.status_code == 422
    nothing = api.patch(f"{INCIDENTS}/{created['id']}", json={"actor": "a"})
    assert nothing.status_code == 422
    assert counts(query) == before


def test_a_late_acknowledgement_records_the_response_breach_once(
    api: TestClient, clock: Clock, query: Query
) -> None:
    created = report(api, priority="P1")
    clock.advance(hours=1, minutes=30)
    acked = act(api, created["id"], "ack")
    assert acked["response_breached"] is True
    assert acked["resolution_breached"] is False
    # On the timeline when it happened: at the due time, before the late acknowledgement.
    events = [(e["kind"], e["at"]) for e in timeline(api, created["id"])]
    assert events[1:] == [
        ("breach", "2026-11-22T00:00:00Z"),
        ("acknowledged", "2026-11-22T00:30:00Z"),
    ]
    assert ("on-duty", "breach") in query("SELECT contact, reason FROM notifications")
    act(api, created["id"], "resolve")
    assert [e["kind"] for e in timeline(api, created["id"])].count("breach") == 1
    stored = query(
        "SELECT labels, sum(value) FROM event_counters"
        " WHERE name = 'slakeeper_sla_breaches_total' GROUP BY labels"
    )
    assert stored == [('{"kind":"response","priority":"P1","service":"payments"}', 1.0)]


def test_resolution_is_due_in_business_days_on_the_business_calendar(
    api: TestClient, clock: Clock
) -> None:
    # Friday 17:00 in Shanghai: 1 business hour left that day, then 9 a day, Monday on.
    clock.now = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    created = report(api, priority="P4")
    assert created["response_due_at"] == "2026-11-21T09:00:00Z"
    # 5 business days of 9 h = 45 h: Fri 1 h + Mon-Thu 36 h + Fri 8 h → Friday 17:00.
    assert created["resolution_due_at"] == "2026-11-27T09:00:00Z"


def test_incidents_can_be_filtered_and_paged(api: TestClient, clock: Clock) -> None:
    ids = []
    for index, priority in enumerate(["P1", "P2", "P3", "P2", "P4"]):
        ids.append(report(api, priority=priority, service=f"svc{index % 2}")["id"])
        clock.advance(hours=1)
    act(api, ids[1], "ack")
    act(api, ids[0], "resolve")

    def listed(**params: Any) -> list[int]:
        response = api.get(INCIDENTS, params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert listed() == ids[::-1]
    assert listed(priority="P2") == [ids[3], ids[1]]
    assert listed(priority=["P1", "P4"]) == [ids[4], ids[0]]
    assert listed(state="acknowledged") == [ids[1]]
    assert listed(state=["open"], service="svc0") == [ids[4], ids[2]]
    assert listed(source="alert") == []
    assert listed(until="2026-11-22T01:00:00Z") == [ids[1], ids[0]]
    assert listed(since="2026-11-22T04:30:00Z") == [ids[4], ids[3], ids[2], ids[1]]
    pages: list[int] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        body = api.get(INCIDENTS, params=params).json()
        pages.extend(item["id"] for item in body["items"])
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert pages == ids[::-1]
    assert api.get(INCIDENTS, params={"cursor": "bogus"}).status_code == 400
    assert api.get(INCIDENTS, params={"state": "sleeping"}).status_code == 400


def test_with_api_tokens_writes_need_one(make_app: AppFactory) -> None:
    token = "api-token-0123456789"
    with TestClient(make_app(rules=EXAMPLE, api_tokens=token)) as api:
        refused = api.post(INCIDENTS, json=REPORT)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"
        accepted = api.post(INCIDENTS, json=REPORT, headers={"Authorization": f"Bearer {token}"})
        assert accepted.status_code == 201
        incident_id = accepted.json()["id"]
        assert api.post(f"{INCIDENTS}/{incident_id}/ack", json={"actor": "a"}).status_code == 401
        # Reads too, once a credential is configured.
        assert api.get(INCIDENTS).status_code == 401
        assert api.get(INCIDENTS, headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_openings_and_breaches_are_counted_on_metrics(api: TestClient, clock: Clock) -> None:
    created = report(api, priority="P1")
    clock.advance(hours=2)
    act(api, created["id"], "ack")
    metrics = api.get("/metrics").text
    assert 'slakeeper_incidents_opened_total{priority="P1",service="payments"} 1.0' in metrics
    assert (
        'slakeeper_sla_breaches_total{kind="response",priority="P1",service="payments"} 1.0'
        in metrics
    )


def test_a_filter_no_index_serves_examines_a_window_and_its_cursors_find_every_match(
    api: TestClient, database_url: str
) -> None:
    ids = [report(api, priority="P1" if n % 4 == 0 else "P3")["id"] for n in range(10)]
    engine = create_database_engine(database_url)
    seen: list[int] = []
    after = None
    with Session(engine) as session:
        while True:
            query = IncidentQuery(priorities=("P1",), limit=2, after_id=after)
            rows, after = list_incidents(session, query, scan_budget=3)
            assert len(rows) <= 1
            seen.extend(row.id for row in rows)
            if after is None:
                break
        manual, _ = list_incidents(session, IncidentQuery(source="manual"), scan_budget=3)
    engine.dispose()
    assert seen == [ids[8], ids[4], ids[0]]
    assert [row.id for row in manual] == ids[::-1]  # an index: one full page
