"""The signed month over HTTP, on SQLite and PostgreSQL: close, a late alert (a change since
close, the record unchanged), an adjustment a second manager approves, accepting the change,
a dispute, the report of the closed month, reopening; every step audited.

The example rule file puts `payments` in Asia/Shanghai: its November ran from
2026-10-31 16:00 to 2026-11-30 16:00 UTC, with two hours of maintenance. The clock stands
on 3 December, so November is over everywhere.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from access.roles import Role
from core.database import create_database_engine
from ledger.jobs import watch_changes
from ledger.models import MonthRecord
from tests.conftest import FIXTURES
from tests.integration.conftest import AppFactory, Clock
from tests.integration.payloads import webhook_alert, webhook_with
from tests.integration.people import Person, add_account

EXAMPLE = FIXTURES / "example_rules.yaml"
AM = "/api/v1/webhooks/alertmanager"
MONTH = "/api/v1/months/2026-11"
NOVEMBER = 30 * 86_400
USABLE = NOVEMBER - 2 * 3600  # payments' maintenance


@pytest.fixture
def managers(database_url: str) -> tuple[Person, Person]:
    return (
        add_account(database_url, "mia", Role.MANAGER),
        add_account(database_url, "noor", Role.MANAGER),
    )


@pytest.fixture
def api(make_app: AppFactory, clock: Clock, managers: Any) -> Iterator[TestClient]:
    clock.now = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    app = make_app(rules=EXAMPLE, adjustments_need_approval=True)
    with TestClient(app, headers=managers[0].headers) as client:
        yield client


def outage(start: str, end: str) -> dict[str, Any]:
    return webhook_alert(
        "InstanceDown",
        status="resolved",
        starts_at=start,
        ends_at=end,
        service="payments",
        instance=start,
    )


def push(api: TestClient, *alerts: dict[str, Any]) -> None:
    response = api.post(AM, json=webhook_with(*alerts))
    assert response.status_code == 200, response.text


def payments(view: dict[str, Any]) -> dict[str, Any]:
    (row,) = [row for row in view["services"] if row["service"] == "payments"]
    found: dict[str, Any] = row
    return found


def month(api: TestClient) -> dict[str, Any]:
    response = api.get(MONTH)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def pdf_text(content: bytes, folder: Path) -> str:
    """The text pdftotext extracts, as a reader copying from the PDF would get it."""
    path = folder / "report.pdf"
    path.write_bytes(content)
    done = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True)
    return done.stdout.decode()


def test_a_closed_month_changes_only_through_adjustments(
    api: TestClient,
    managers: tuple[Person, Person],
    database_url: str,
    clock: Clock,
    tmp_path: Path,
) -> None:
    push(api, outage("2026-11-10T10:00:00Z", "2026-11-10T10:30:00Z"))

    closed = api.post(f"{MONTH}/close", json={"services": ["payments"]})
    assert closed.status_code == 200, closed.text
    (record,) = closed.json()["items"]
    assert record["closed_by"] == "mia" and record["version"] == 1
    assert api.post(f"{MONTH}/close", json={"services": ["payments"]}).status_code == 409

    view = month(api)
    assert view["state"] == "partly_closed" and len(view["digest"]) == 64
    row = payments(view)
    assert row["month_state"] == "closed" and row["downtime_seconds"] == 1800
    assert row["availability_ratio"] == pytest.approx((USABLE - 1800) / USABLE)

    # A late alert: the record holds, the change waits.
    push(api, outage("2026-11-20T08:00:00Z", "2026-11-20T08:10:00Z"))
    assert payments(month(api))["downtime_seconds"] == 1800
    engine = create_database_engine(database_url)
    rules = api.app.state.rules.current  # type: ignore[attr-defined]
    assert watch_changes(engine, rules=rules, now=clock.now) == 1
    assert watch_changes(engine, rules=rules, now=clock.now) == 0  # found once
    (change,) = month(api)["pending_changes"]
    assert change["downtime_delta_seconds"] == 600 and change["state"] == "pending"
    assert payments(month(api))["downtime_seconds"] == 1800

    # Exclude the first window as a false alarm; a second manager approves.
    made = api.post(
        f"{MONTH}/adjustments",
        json={
            "service": "payments",
            "action": "exclude",
            "start": "2026-11-10T10:00:00Z",
            "end": "2026-11-10T10:30:00Z",
            "category": "false_alarm",
            "reason": "the probe's own network failed",
        },
    )
    assert made.status_code == 201, made.text
    adjustment = made.json()
    assert adjustment["state"] == "awaiting_approval" and adjustment["created_by"] == "mia"
    assert payments(month(api))["downtime_seconds"] == 1800
    own = api.post(f"{MONTH}/adjustments/{adjustment['id']}/approve")
    assert own.status_code == 409 and own.json()["error"]["code"] == "second_person_required"
    approved = api.post(
        f"{MONTH}/adjustments/{adjustment['id']}/approve", headers=managers[1].headers
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["approved_by"] == "noor"
    assert approved.json()["effect_seconds"] == -1800
    listed = api.get(f"{MONTH}/adjustments").json()["items"]
    assert [(a["id"], a["state"], a["approved_by"]) for a in listed] == [
        (adjustment["id"], "applied", "noor")
    ]
    row = payments(month(api))
    assert row["downtime_seconds"] == 0 and row["raw_downtime_seconds"] == 1800
    assert row["availability_ratio"] == 1.0
    assert row["raw_availability_ratio"] == pytest.approx((USABLE - 1800) / USABLE)

    # Accepting the change since close adds the late window, the exclusion still holds.
    accepted = api.post(
        f"{MONTH}/adjustments",
        json={
            "service": "payments",
            "action": "accept",
            "pending_change_id": change["id"],
            "category": "monitoring_error",
            "reason": "the alert reached us late",
        },
    )
    assert accepted.status_code == 201, accepted.text
    api.post(f"{MONTH}/adjustments/{accepted.json()['id']}/approve", headers=managers[1].headers)
    view = month(api)
    assert payments(view)["downtime_seconds"] == 600
    assert [c["state"] for c in view["pending_changes"]] == ["accepted"]

    disputed = api.post(
        f"{MONTH}/disputes",
        json={
            "service": "payments",
            "start": "2026-11-20T08:00:00Z",
            "end": "2026-11-20T08:10:00Z",
            "contact": "li.wei@customer.example",
            "reason": "our users saw no failure",
        },
    )
    assert disputed.status_code == 201, disputed.text
    assert [d["state"] for d in month(api)["disputes"]] == ["open"]

    report = api.get("/api/v1/reports/availability", params={"month": "2026-11"}).json()
    (reported,) = [s for s in report["services"] if s["service"] == "payments"]
    assert reported["downtime_seconds"] == 600 and reported["raw_downtime_seconds"] == 1800

    # The signed copy: the PDF (in Chinese) carries the record's digest and the figure.
    pdf = api.get(
        "/api/v1/reports/availability",
        params={"month": "2026-11", "format": "pdf", "lang": "zh-CN"},
    )
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    text = pdf_text(pdf.content, tmp_path)
    assert month(api)["digest"] in text.replace("\n", "")
    assert "payments" in text and "可用性" in text

    reopened = api.post(f"{MONTH}/reopen", json={"services": ["payments"], "reason": "recount"})
    assert reopened.status_code == 200, reopened.text
    row = payments(month(api))
    assert row["month_state"] == "open" and row["downtime_seconds"] == 2400

    audit = api.get("/api/v1/audit", params={"target": "month:2026-11"}).json()["items"]
    assert {event["action"] for event in audit} >= {"month.close", "month.reopen"}
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(MonthRecord)) == 1
    engine.dispose()


def test_a_month_not_over_cannot_be_closed(api: TestClient, clock: Clock) -> None:
    response = api.post("/api/v1/months/2026-12/close", json={})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_period"
