"""The monthly compliance report from a database with outages, incidents and breaches."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import FIXTURES
from tests.integration.conftest import AppFactory, Clock
from tests.integration.payloads import webhook_alert, webhook_with

EXAMPLE = FIXTURES / "example_rules.yaml"
AM = "/api/v1/webhooks/alertmanager"
REPORT = "/api/v1/reports/availability"


@pytest.fixture
def api(make_app: AppFactory) -> Iterator[TestClient]:
    with TestClient(make_app(rules=EXAMPLE)) as client:
        yield client


def push(api: TestClient, *alerts: dict[str, Any]) -> None:
    response = api.post(AM, json=webhook_with(*alerts))
    assert response.status_code == 200, response.text


def at(clock: Clock, text: str) -> None:
    clock.now = datetime.fromisoformat(text).astimezone(UTC)


@pytest.fixture
def month(api: TestClient, clock: Clock) -> dict[str, Any]:
    """November so far: payments down 100 min (a P1 acknowledged 30 min late);
    checkout degraded 30 min (a P2, acknowledged in time); a P3 warning on payments."""
    instance_down = {"service": "payments", "instance": "db1"}
    at(clock, "2026-11-10T10:00:05+00:00")
    push(api, webhook_alert("InstanceDown", starts_at="2026-11-10T10:00:00Z", **instance_down))
    push(
        api,
        webhook_alert(
            "Latency", starts_at="2026-11-10T10:00:00Z", severity="warning", service="payments"
        ),
    )
    at(clock, "2026-11-10T10:05:00+00:00")
    push(
        api,
        webhook_alert(
            "ErrorRate", starts_at="2026-11-10T10:05:00Z", severity="critical", job="checkout"
        ),
    )
    incidents = {item["priority"]: item for item in api.get("/api/v1/incidents").json()["items"]}
    at(clock, "2026-11-10T10:20:00+00:00")
    api.post(f"/api/v1/incidents/{incidents['P2']['id']}/ack", json={"actor": "ana"})
    at(clock, "2026-11-10T10:35:00+00:00")
    push(
        api,
        webhook_alert(
            "ErrorRate",
            status="resolved",
            starts_at="2026-11-10T10:05:00Z",
            ends_at="2026-11-10T10:35:00Z",
            severity="critical",
            job="checkout",
        ),
    )
    at(clock, "2026-11-10T11:30:00+00:00")
    acked = api.post(f"/api/v1/incidents/{incidents['P1']['id']}/ack", json={"actor": "ana"})
    assert acked.json()["response_breached"] is True
    at(clock, "2026-11-10T11:40:00+00:00")
    push(
        api,
        webhook_alert(
            "InstanceDown",
            status="resolved",
            starts_at="2026-11-10T10:00:00Z",
            ends_at="2026-11-10T11:40:00Z",
            **instance_down,
        ),
    )
    at(clock, "2026-11-21T23:00:00+00:00")
    return incidents


def test_the_json_report_agrees_with_each_services_availability(
    api: TestClient, month: dict[str, Any]
) -> None:
    response = api.get(REPORT, params={"month": "2026-11"})
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["month"], report["timezone"]) == ("2026-11", "Asia/Shanghai")
    services = {item["service"]: item for item in report["services"]}
    assert set(services) == {"payments", "checkout"}
    for name, row in services.items():
        alone = api.get(f"/api/v1/services/{name}/availability", params={"month": "2026-11"})
        for field, value in alone.json().items():
            assert row[field] == (pytest.approx(value) if isinstance(value, float) else value)

    payments = services["payments"]
    assert payments["downtime_seconds"] == 100 * 60
    assert payments["maintenance_seconds"] == 2 * 3600
    assert payments["incidents"] == 2
    assert payments["response_breaches"] == 1
    assert payments["mtta_seconds"] == 3600 + 29 * 60 + 55  # only the P1 responded
    assert services["checkout"]["degraded_seconds"] == 30 * 60
    assert services["checkout"]["downtime_seconds"] == 0

    overall = {row["priority"]: row for row in report["priorities"]}
    assert list(overall) == ["P1", "P2", "P3", "P4"]
    assert [overall[p]["incidents"] for p in overall] == [1, 1, 1, 0]
    assert overall["P1"]["response_met_ratio"] == 0.0
    assert overall["P2"]["response_met_ratio"] == 1.0
    assert overall["P4"]["response_met_ratio"] is None

    [breach] = report["breaches"]
    assert breach["incident_id"] == month["P1"]["id"]
    assert breach["kind"] == "response"
    assert breach["late_seconds"] == 29 * 60 + 55  # due at 11:00:05, acknowledged at 11:30

    summary = report["summary"]
    assert summary["services"] == 2
    assert summary["incidents"] == 3
    assert summary["response_breaches"] == 1
    assert summary["downtime_seconds"] == 100 * 60
    assert sum(day["downtime_seconds"] for day in report["downtime_by_day"]) == 100 * 60
    [down_day] = [day for day in report["downtime_by_day"] if day["downtime_seconds"]]
    assert down_day["day"] == "2026-11-10"


def test_the_csv_report_has_a_row_per_service_and_a_summary_row(
    api: TestClient, month: dict[str, Any]
) -> None:
    response = api.get(REPORT, params={"month": "2026-11", "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["service"] for row in rows] == ["checkout", "payments", "(all)"]
    payments = rows[1]
    assert float(payments["downtime_seconds"]) == 6000
    assert payments["P1_incidents"] == "1"
    assert payments["P1_response_breaches"] == "1"
    assert payments["met"] == "True"
    assert rows[2]["incidents"] == "3"


def test_the_html_report_is_one_page_with_the_figures(
    api: TestClient, month: dict[str, Any]
) -> None:
    response = api.get(REPORT, params={"month": "2026-11", "format": "html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "payments" in page and "checkout" in page
    assert "<script" not in page.lower()
    assert 'src="http' not in page and 'href="http' not in page


@pytest.mark.parametrize(("month", "status"), [("2026-13", 400), ("2030-01", 422), ("", 400)])
def test_a_report_for_a_month_that_cannot_be_is_refused(
    api: TestClient, month: str, status: int
) -> None:
    response = api.get(REPORT, params={"month": month})
    assert response.status_code == status, response.text


def test_the_report_command_writes_the_same_report(
    api: TestClient, month: dict[str, Any], database_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "november.csv"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "slakeeper.cli",
            "report",
            "--month",
            "2026-11",
            "--format",
            "csv",
            "--out",
            str(out),
            "--database-url",
            database_url,
            "--rules",
            str(EXAMPLE),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = {row["service"]: row for row in csv.DictReader(out.open())}
    assert float(rows["payments"]["downtime_seconds"]) == 6000
    assert rows["payments"]["P1_response_breaches"] == "1"

    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "slakeeper.cli",
            "report",
            "--month",
            "11/2026",
            "--database-url",
            database_url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2
    assert "YYYY-MM" in bad.stderr


def test_counts_in_the_csv_are_integers_as_in_json(api: TestClient, month: dict[str, Any]) -> None:
    as_json = api.get(REPORT, params={"month": "2026-11"}).json()
    rows = csv.DictReader(
        io.StringIO(api.get(REPORT, params={"month": "2026-11", "format": "csv"}).text)
    )
    by_service = {row["service"]: row for row in rows}
    for service in as_json["services"]:
        row = by_service[service["service"]]
        assert row["warranty_extension_days"] == str(service["warranty_extension_days"])
        assert row["incidents"] == str(service["incidents"])
    assert by_service["(all)"]["warranty_extension_days"] == ""


def test_a_service_named_like_a_formula_is_text_in_the_csv(client: TestClient) -> None:
    names = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]
    alerts = [webhook_alert("Down", service=name, severity="critical") for name in names]
    assert client.post("/api/v1/webhooks/alertmanager", json=webhook_with(*alerts)).is_success
    response = client.get(REPORT, params={"month": "2026-11", "format": "csv"})
    assert response.status_code == 200, response.text
    services = [row["service"] for row in csv.DictReader(io.StringIO(response.text))]
    assert sorted(services[:-1]) == sorted("'" + name for name in names)
    for line in response.text.splitlines()[1:]:
        assert not line.lstrip('"').startswith(("=", "+", "-", "@", "\t", "\r")), line
