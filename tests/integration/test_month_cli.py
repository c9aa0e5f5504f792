"""`slakeeper month` and `slakeeper report` as an operator runs them, on a database a server
used: the CLI computes with the server's rule file, not the one it is given."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from access.roles import Role
from rules.loader import DEFAULT_RULES
from tests.conftest import FIXTURES
from tests.integration.conftest import AppFactory, Clock
from tests.integration.payloads import webhook_alert, webhook_with
from tests.integration.people import add_account
from tests.integration.processes import run

EXAMPLE = FIXTURES / "example_rules.yaml"


# The API's flow runs on both databases (test_signed_month.py); the CLI on one, for time.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_month_close_show_and_report_use_the_servers_rules(
    make_app: AppFactory, clock: Clock, database_url: str
) -> None:
    clock.now = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    ingest = add_account(database_url, "mia", Role.MANAGER)
    with TestClient(make_app(rules=EXAMPLE), headers=ingest.headers) as api:
        alert = webhook_alert(
            "InstanceDown",
            status="resolved",
            starts_at="2026-11-10T10:00:00Z",
            ends_at="2026-11-10T10:30:00Z",
            service="payments",
        )
        assert api.post("/api/v1/webhooks/alertmanager", json=webhook_with(alert)).is_success
    where = ("--database-url", database_url)

    closed = run("month", "close", "2026-11", "--service", "payments", *where)
    assert closed.returncode == 0, closed.stderr
    assert "closed 2026-11 for payments (version 1" in closed.stdout

    shown = run("month", "show", "2026-11", "--format", "json", *where)
    assert shown.returncode == 0, shown.stderr
    view = json.loads(shown.stdout)
    (payments,) = [row for row in view["services"] if row["service"] == "payments"]
    assert payments["month_state"] == "closed" and payments["downtime_seconds"] == 1800
    assert len(view["digest"]) == 64

    # The shipped rule file knows no `payments` time zone (Asia/Shanghai in the server's):
    # the CLI says it differs, and reports with the server's.
    reported = run("report", "--month", "2026-11", "--rules", str(DEFAULT_RULES), *where)
    assert reported.returncode == 0, reported.stderr
    assert "differs from the rule file the server loaded" in reported.stderr
    (row,) = [s for s in json.loads(reported.stdout)["services"] if s["service"] == "payments"]
    assert row["timezone"] == "Asia/Shanghai" and row["downtime_seconds"] == 1800
    assert row["month_state"] == "closed"
