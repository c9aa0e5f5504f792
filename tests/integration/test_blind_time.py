"""Blind time and service credits end to end, on both databases: Watchdog pushes through the
real webhook, truncated pushes, slakeeper's own heartbeat, the availability API, the
report and /metrics.

The rule file is the example one plus a heartbeat (Watchdog, 5 min), credit tiers (5 %
below 99.9 %, 10 % below 99 %), and `unknown: down` for payments (checkout keeps the
default, `up`). The test clock starts at 2026-11-21 23:00 UTC; payments' November began at
2026-10-31 16:00 UTC (Asia/Shanghai), with two hours of maintenance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from core.database import create_database_engine
from rules.loader import load_rule_file
from slakeeper.scheduler import Intervals, JobScheduler
from tests.conftest import FIXTURES
from tests.integration.conftest import AppFactory, Clock
from tests.integration.payloads import webhook_alert, webhook_with
from tests.integration.test_availability_api import NOVEMBER_SO_FAR, PAYMENTS_MAINTENANCE
from tests.integration.test_scheduler import eventually
from tests.integration.test_sla_metrics import scrape

AM = "/api/v1/webhooks/alertmanager"
USABLE = NOVEMBER_SO_FAR - PAYMENTS_MAINTENANCE  # payments' November so far, in seconds
WATCHDOG = webhook_alert("Watchdog", starts_at="2026-11-01T00:00:00Z", severity="none")


@pytest.fixture
def rules_path(tmp_path: Path) -> Path:
    text = (FIXTURES / "example_rules.yaml").read_text()
    text = text.replace(
        "    target: 99.5                 # percent, per calendar month\n",
        "    target: 99.5                 # percent, per calendar month\n    unknown: down\n",
    )
    text += (
        "\nheartbeat: {matchers: ['alertname=\"Watchdog\"'], interval: 5m}\n"
        "credits:\n"
        "  tiers: [{below: 99.9, credit: 5}, {below: 99, credit: 10}]\n"
        "  max: 25\n"
    )
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    assert load_rule_file(path).services["payments"].unknown_policy == "down"
    return path


@pytest.fixture
def api(make_app: AppFactory, rules_path: Path) -> Iterator[TestClient]:
    app = make_app(rules=rules_path, metrics_cache_seconds=0, availability_refresh_seconds=0)
    with TestClient(app) as client:
        yield client


def at(clock: Clock, text: str) -> None:
    clock.now = datetime.fromisoformat(text).astimezone(UTC)


def push(api: TestClient, *alerts: dict[str, Any], **envelope: Any) -> None:
    response = api.post(AM, json=webhook_with(*alerts, **envelope))
    assert response.status_code == 200, response.text


def figures(api: TestClient, service: str) -> dict[str, Any]:
    response = api.get(f"/api/v1/services/{service}/availability", params={"month": "2026-11"})
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def report_rows(api: TestClient) -> dict[str, dict[str, Any]]:
    response = api.get("/api/v1/reports/availability", params={"month": "2026-11"})
    assert response.status_code == 200, response.text
    return {row["service"]: row for row in response.json()["services"]}


def watchdog_at(api: TestClient, clock: Clock, *times: str) -> None:
    for text in times:
        at(clock, f"2026-11-21T{text}:00+00:00")
        push(api, WATCHDOG)


def test_a_gap_in_the_watchdog_is_unknown_time_counted_per_each_services_policy(
    api: TestClient, clock: Clock
) -> None:
    # Every 4 min, but nothing from 21:04 to 22:00: 56 minutes blind; payments was down
    # 21:30-21:40 meanwhile, which is known downtime, not unknown time.
    watchdog_at(api, clock, "21:00", "21:04")
    push(
        api,
        webhook_alert(
            "InstanceDown",
            status="resolved",
            starts_at="2026-11-21T21:30:00Z",
            ends_at="2026-11-21T21:40:00Z",
            service="payments",
            instance="db1",
        ),
    )
    every_4_minutes = [f"22:{minute:02d}" for minute in range(0, 60, 4)]
    watchdog_at(api, clock, *every_4_minutes, "23:00")

    payments, checkout = figures(api, "payments"), figures(api, "checkout")

    assert payments["unknown_seconds"] == 56 * 60 - 600
    assert payments["downtime_seconds"] == 600  # as measured: unknown time is apart
    assert payments["unknown_policy"] == "down"
    # Down: the blind time counts as downtime, and the month falls below 99.9 %: 5 % credit.
    assert payments["availability_ratio"] == pytest.approx((USABLE - 56 * 60) / USABLE, abs=1e-12)
    assert payments["error_budget_remaining_seconds"] == pytest.approx(
        round(0.005 * USABLE) - 56 * 60
    )
    assert payments["credit_ratio"] == pytest.approx(0.05)
    # Up (the default): the same blind time, reported, and the figure as before.
    assert checkout["unknown_seconds"] == 56 * 60
    assert checkout["unknown_policy"] == "up"
    assert checkout["availability_ratio"] == 1.0
    assert checkout["credit_ratio"] == 0.0

    rows = report_rows(api)
    assert rows["payments"]["unknown_seconds"] == 56 * 60 - 600
    assert rows["payments"]["unknown_policy"] == "down"
    assert rows["payments"]["availability_ratio"] == pytest.approx(payments["availability_ratio"])
    assert rows["payments"]["credit_ratio"] == pytest.approx(0.05)
    assert (rows["checkout"]["unknown_seconds"], rows["checkout"]["unknown_policy"]) == (
        56 * 60,
        "up",
    )
    assert rows["checkout"]["credit_ratio"] == 0.0


def test_the_watchdog_silent_until_now_is_blind_only_once_past_its_interval(
    api: TestClient, clock: Clock
) -> None:
    watchdog_at(api, clock, "22:50")
    at(clock, "2026-11-21T22:55:00+00:00")
    assert figures(api, "checkout")["unknown_seconds"] == 0  # 5 min: not longer than allowed
    at(clock, "2026-11-21T23:00:00+00:00")
    assert figures(api, "checkout")["unknown_seconds"] == 600  # from the last receipt
    # A resolved Watchdog says the heartbeat stopped: it is no receipt.
    push(
        api,
        webhook_alert(
            "Watchdog",
            status="resolved",
            starts_at="2026-11-01T00:00:00Z",
            ends_at="2026-11-21T22:51:00Z",
            severity="none",
        ),
    )
    assert figures(api, "checkout")["unknown_seconds"] == 600
    # The Watchdog is recorded, and is neither an incident nor downtime.
    assert api.get("/api/v1/incidents").json()["items"] == []


def test_a_truncated_push_blinds_every_service_for_the_heartbeat_interval(
    api: TestClient, clock: Clock, query: Callable[[str], list[Any]]
) -> None:
    at(clock, "2026-11-21T22:00:00+00:00")
    push(api, webhook_alert("Latency", severity="warning", job="checkout"), truncatedAlerts=3)
    at(clock, "2026-11-21T22:03:00+00:00")
    # Another loss within the window extends it: 22:00-22:08.
    push(api, webhook_alert("Latency", severity="warning", job="checkout"), truncatedAlerts=1)
    at(clock, "2026-11-21T23:00:00+00:00")

    assert figures(api, "checkout")["unknown_seconds"] == 480
    payments = figures(api, "payments")
    assert payments["unknown_seconds"] == 480
    assert payments["availability_ratio"] == pytest.approx((USABLE - 480) / USABLE, abs=1e-12)
    assert query("SELECT reason, source FROM blind_windows") == [("truncated", "alertmanager")]


def test_a_gap_in_slakeeper_s_own_heartbeat_is_unknown_for_every_service(
    api: TestClient, clock: Clock, database_url: str, rules_path: Path
) -> None:
    engine = create_database_engine(database_url)
    rules = load_rule_file(rules_path)
    own = Clock(datetime(2026, 11, 21, 21, 0, tzinfo=UTC))
    scheduler = JobScheduler(
        engine,
        rules=lambda: rules,
        clock=own,
        intervals=Intervals(heartbeat=timedelta(seconds=0.02)),
    )
    scheduler.start()
    try:
        eventually(lambda: spans(engine) == [(own.now, own.now)], "slakeeper's first record")
        own.advance(seconds=30)  # within a minute: the same span
        eventually(lambda: len(spans(engine)) == 1 and spans(engine)[0][1] == own.now, "one span")
        own.advance(minutes=10)  # not running for 10 minutes, then again until 23:00
        eventually(lambda: len(spans(engine)) == 2, "a second span")
        own.now = datetime(2026, 11, 21, 22, 59, 30, tzinfo=UTC)
        eventually(lambda: len(spans(engine)) == 3, "a third span")
    finally:
        scheduler.shutdown()
        engine.dispose()
    # 21:00:30-21:10:30 and 21:10:30-22:59:30 are blind; 30 s since the last is not.
    blind = 10 * 60 + (22 * 3600 + 59 * 60 - 21 * 3600 - 10 * 60)
    assert figures(api, "checkout")["unknown_seconds"] == blind
    assert report_rows(api)["payments"]["unknown_seconds"] == blind


def spans(engine: Engine) -> list[tuple[datetime, datetime]]:
    from sqlalchemy import select

    from collector.models import HeartbeatSpan

    with engine.connect() as connection:
        rows = connection.execute(
            select(HeartbeatSpan.first_at, HeartbeatSpan.last_at)
            .where(HeartbeatSpan.source == "slakeeper")
            .order_by(HeartbeatSpan.first_at)
        )
        return [(first, last) for first, last in rows]


def test_unknown_seconds_and_credits_are_on_metrics_and_the_counter_never_goes_down(
    api: TestClient, clock: Clock
) -> None:
    watchdog_at(api, clock, "21:00", "23:00")  # 2 hours blind this month
    at(clock, "2026-11-21T22:30:00+00:00")
    # Alerts lost at 22:30 (blind until 22:35): within the heartbeat's gap, counted once.
    push(api, webhook_alert("Latency", severity="warning", job="checkout"), truncatedAlerts=2)
    at(clock, "2026-11-21T23:00:00+00:00")

    samples, types = scrape(api)
    assert types["slakeeper_service_unknown_seconds"] == "counter"
    assert types["slakeeper_service_credit_ratio"] == "gauge"

    def sample(name: str, service: str) -> float:
        return samples[(name, frozenset({("service", service)}))]

    # The counter starts an hour back (as the downtime counter does): 22:00-23:00, of which
    # the Watchdog's gap covers all. The month's credit: payments counts 2 h as down.
    assert sample("slakeeper_service_unknown_seconds_total", "payments") == 3600
    assert sample("slakeeper_service_unknown_seconds_total", "checkout") == 3600
    assert sample("slakeeper_service_credit_ratio", "payments") == pytest.approx(0.05)
    assert sample("slakeeper_service_credit_ratio", "checkout") == 0.0

    # Maintenance entered afterwards over the last hour takes the unknown time out of the
    # figures, and holds the counter where it was.
    planned = api.post(
        "/api/v1/maintenance",
        json={
            "service": "checkout",
            "start": "2026-11-21T21:30:00Z",
            "end": "2026-11-21T23:00:00Z",
            "reason": "found afterwards",
            "actor": "ana",
        },
    )
    assert planned.status_code == 201, planned.text
    clock.advance(seconds=1)
    samples, _ = scrape(api)
    assert sample("slakeeper_service_unknown_seconds_total", "checkout") == 3600
    assert figures(api, "checkout")["unknown_seconds"] == 1800  # 21:00-21:30
