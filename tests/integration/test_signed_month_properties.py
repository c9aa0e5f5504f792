"""The record's property on a real database: whatever arrives late, a closed month's figure
holds, and the change since close is found exactly when the month measures differently.

Each example closes November for a service of its own (a new name), so the examples share
one database and one server.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from access.roles import Role
from core.database import create_database_engine
from ledger.jobs import watch_changes
from tests.integration.conftest import AppFactory, Clock
from tests.integration.payloads import webhook_alert, webhook_with
from tests.integration.people import add_account

NOVEMBER = datetime(2026, 11, 1, tzinfo=UTC)
MONTH = "/api/v1/months/2026-11"
names = itertools.count()

window = st.tuples(st.integers(0, 29 * 24 * 60), st.integers(1, 36 * 60))
windows = st.lists(window, min_size=0, max_size=4)


@pytest.fixture
def api(make_app: AppFactory, clock: Clock, database_url: str) -> Iterator[TestClient]:
    clock.now = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    manager = add_account(database_url, "mia", Role.MANAGER)
    with TestClient(make_app(), headers=manager.headers) as client:
        yield client


def alerts(service: str, spans: list[tuple[int, int]]) -> list[dict[str, Any]]:
    found = []
    for start, minutes in spans:
        begins = NOVEMBER + timedelta(minutes=start)
        found.append(
            webhook_alert(
                "InstanceDown",
                status="resolved",
                starts_at=begins.isoformat().replace("+00:00", "Z"),
                ends_at=(begins + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z"),
                service=service,
                instance=f"{start}-{minutes}",
            )
        )
    return found


def figures(api: TestClient, service: str) -> dict[str, Any]:
    view = api.get(MONTH).json()
    (row,) = [row for row in view["services"] if row["service"] == service]
    return {key: row[key] for key in ("downtime_seconds", "availability_ratio", "month_state")}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(before=windows, late=windows)
def test_late_alerts_never_change_a_closed_month(
    api: TestClient, database_url: str, clock: Clock, before: list[Any], late: list[Any]
) -> None:
    service = f"svc{next(names)}"
    if before:
        assert api.post(
            "/api/v1/webhooks/alertmanager", json=webhook_with(*alerts(service, before))
        ).is_success
    # A service nobody has seen yet is not known: give it one alert outside the month.
    seen = alerts(service, [(-24 * 60, 1)])
    api.post("/api/v1/webhooks/alertmanager", json=webhook_with(*seen))
    closed = api.post(f"{MONTH}/close", json={"services": [service]})
    assert closed.status_code == 200, closed.text
    at_close = figures(api, service)

    if late:
        api.post("/api/v1/webhooks/alertmanager", json=webhook_with(*alerts(service, late)))
    engine = create_database_engine(database_url)
    rules = api.app.state.rules.current  # type: ignore[attr-defined]
    found = watch_changes(engine, rules=rules, now=clock.now)
    engine.dispose()

    assert figures(api, service) == at_close
    reopened = api.post(f"{MONTH}/reopen", json={"services": [service], "reason": "check"})
    assert reopened.status_code == 200
    live = figures(api, service)
    assert (found == 1) == (live["downtime_seconds"] != at_close["downtime_seconds"])
