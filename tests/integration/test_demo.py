"""`slakeeper demo` as a newcomer runs it: a month worth looking at, in a fresh database."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from slakeeper.app import create_app
from slakeeper.demo import webhook_payload
from slakeeper.demo.events import AlertNotice
from slakeeper.settings import Settings
from tests.integration.processes import clean_environment

MONTH = "2026-10"
EARLIER = datetime(2026, 9, 30, 22, 0, tzinfo=UTC)
Query = Callable[[str], list[Any]]


def demo_command(database_url: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "slakeeper.cli",
        "demo",
        "--database-url",
        database_url,
        "--month",
        MONTH,
        "--seed",
        "1",
        "--quiet",
        *extra,
    ]


def run_demo(database_url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        demo_command(database_url, *extra),
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_environment(),
    )


def month_report(database_url: str) -> dict[str, Any]:
    """The month's compliance report, as the API answers it."""
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        response = client.get("/api/v1/reports/availability", params={"month": MONTH})
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def stored_counts(query: Query) -> tuple[int, int, int, int]:
    return (
        query("SELECT count(*) FROM alerts")[0][0],
        query("SELECT count(*) FROM incidents")[0][0],
        query("SELECT count(*) FROM incident_events")[0][0],
        query("SELECT count(*) FROM maintenance_windows")[0][0],
    )


def test_the_demo_fills_a_fresh_database_with_a_month_worth_reporting(
    database_url: str, query: Query
) -> None:
    result = run_demo(database_url)
    assert result.returncode == 0, result.stderr
    assert "slakeeper serve" in result.stdout
    assert f"/api/v1/reports/availability?month={MONTH}" in result.stdout

    alerts, incidents, _, windows = stored_counts(query)
    assert alerts >= 100 and incidents >= 50, "not a month worth reporting"
    # What the command prints is what it stored, and what the README says it loads.
    printed = re.search(
        r"alert instances\s+(\d+) \(from (\d+) webhook notifications\)", result.stdout
    )
    assert printed is not None, result.stdout
    assert int(printed[1]) == alerts
    assert re.search(rf"^incidents\s+{incidents}:", result.stdout, re.MULTILINE), result.stdout
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    stated = re.search(
        rf"`slakeeper demo --month {MONTH} --seed 1` loads\s+(\d+) alert instances\s+"
        r"\(from\s+(\d+) webhook notifications\) and (\d+) incidents",
        readme,
    )
    assert stated is not None, "the README does not say what the demo loads"
    assert (int(stated[1]), int(stated[2]), int(stated[3])) == (alerts, int(printed[2]), incidents)
    # Every alert came in as webhooks do: each observation is part of a recorded delivery,
    # each instance was classified, and each alert incident holds the alerts that opened it.
    observed = query("SELECT sum(receive_count) FROM alerts")[0][0]
    assert query("SELECT sum(alert_count) FROM deliveries")[0][0] == observed
    assert query("SELECT count(*) FROM alerts WHERE service IS NULL OR level IS NULL")[0][0] == 0
    from_alerts = "SELECT count(*) FROM incidents WHERE source = 'alert'"
    holding = "SELECT count(DISTINCT incident_id) FROM alerts WHERE incident_id IS NOT NULL"
    assert query(from_alerts)[0][0] == query(holding)[0][0] > 0
    priorities = {row[0] for row in query("SELECT DISTINCT priority FROM incidents")}
    assert priorities == {"P1", "P2", "P3", "P4"}
    assert query("SELECT count(*) FROM incidents WHERE response_breached")[0][0] >= 1
    assert query("SELECT count(*) FROM incidents WHERE resolution_breached")[0][0] >= 1
    assert query("SELECT max(flap_count) FROM incidents")[0][0] >= 1
    assert query("SELECT count(*) FROM incident_events WHERE kind = 'raised'")[0][0] >= 1
    closed = "SELECT count(*) FROM incidents WHERE state = 'closed' AND closed_by IS NOT NULL"
    assert query(closed)[0][0] >= 1
    phoned = "SELECT impact FROM incidents WHERE source = 'manual' AND channel = 'phone'"
    assert ("outage",) in query(phoned)
    assert windows >= 3
    assert query("SELECT count(*) FROM maintenance_windows WHERE cron IS NOT NULL")[0][0] >= 1
    # Nothing simulated waits in the outbox for a sender to page someone with.
    assert query("SELECT count(*) FROM notifications WHERE state = 'pending'")[0][0] == 0

    services = month_report(database_url)["services"]
    assert len(services) >= 5
    assert any(not service["met"] for service in services), "no service missed its target"
    assert any(service["met"] for service in services), "no service met its target"
    assert any(service["maintenance_seconds"] > 0 for service in services)

    before = stored_counts(query)
    again = run_demo(database_url)
    assert again.returncode == 2, "a second demo was not refused"
    assert stored_counts(query) == before


def test_the_demo_refuses_a_database_that_holds_alerts_unless_forced(
    database_url: str, query: Query
) -> None:
    alert = AlertNotice({"alertname": "DiskSpaceLow", "service": "payments"}, {}, EARLIER)
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        sent = client.post("/api/v1/webhooks/alertmanager", json=webhook_payload([alert]))
    assert sent.status_code == 200, sent.text
    before = stored_counts(query)

    refused = run_demo(database_url)

    assert refused.returncode == 2
    assert "--force" in refused.stderr
    assert stored_counts(query) == before
    forced = run_demo(database_url, "--force")
    assert forced.returncode == 0, forced.stderr
    assert stored_counts(query)[0] > before[0]


def test_the_same_seed_loads_the_same_month(tmp_path: Path) -> None:
    urls = [f"sqlite:///{tmp_path / name}.db" for name in ("first", "second")]
    runs = [
        subprocess.Popen(
            demo_command(url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_environment(),
        )
        for url in urls
    ]
    for process in runs:
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr

    first, second = (month_report(url) for url in urls)

    assert first["summary"]["downtime_seconds"] > 0
    for report in (first, second):
        del report["generated_at"]
    assert first == second
