"""A push of thousands of new groups: opened in bulk, written in slices, recorded once.

One push of 3,000 new groups used to hold the writer for 23-26 s on PostgreSQL, five round
trips per incident, while every other push waited. The figures are in benchmarks/big_push.py;
here, what a user relies on: every group gets its incident, its timeline and its messages,
the push is recorded once, and the statements it costs do not grow with the groups.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from collector.alerts import AlertObservation, AlertStatus, Delivery, Source, slices
from collector.normalise import from_alertmanager_webhook
from collector.schemas import AlertmanagerWebhook
from core.database import create_database_engine
from incident.ingestion import apply_deliveries
from rules.loader import load_rule_file
from slakeeper.migrate import upgrade
from slakeeper.pipeline import SLICE_ALERTS
from tests.conftest import FIXTURES
from tests.integration.payloads import webhook_alert, webhook_with

AM = "/api/v1/webhooks/alertmanager"
EXAMPLE = FIXTURES / "example_rules.yaml"
Query = Callable[[str], list[Any]]
NOW = datetime(2026, 11, 21, 23, 0, tzinfo=UTC)


def big_push(groups: int, truncated: int = 0) -> dict[str, Any]:
    alerts = [
        webhook_alert(f"Big{n}", service=f"svc-{n % 7}", severity="critical") for n in range(groups)
    ]
    return webhook_with(*alerts, truncatedAlerts=truncated)


def test_every_group_of_a_big_push_opens_its_incident_once(make_app: Any, query: Query) -> None:
    groups = 2 * SLICE_ALERTS + 17  # three slices
    with TestClient(make_app(rules=EXAMPLE)) as client:
        response = client.post(AM, json=big_push(groups, truncated=5))
        assert response.status_code == 200, response.text
        assert response.json() == {"received": groups}
        # Sent again (a retry): nothing more is opened.
        assert client.post(AM, json=big_push(groups, truncated=5)).status_code == 200
        listed = client.get("/api/v1/incidents", params={"limit": 1000}).json()["items"]
    assert len(listed) == groups
    assert {item["title"].split()[0] for item in listed} >= {"Big0", f"Big{groups - 1}"}
    assert {(item["alert_count"], item["priority"]) for item in listed} == {(1, "P2")}
    [(opened, incidents_with_events)] = query(
        "SELECT count(*), count(DISTINCT incident_id) FROM incident_events WHERE kind = 'opened'"
    )
    assert opened == incidents_with_events == groups
    [(messages, notified)] = query(
        "SELECT count(*), count(DISTINCT incident_id) FROM notifications WHERE reason = 'opened'"
    )
    assert notified == groups and messages % groups == 0 and messages > 0
    # The push is recorded once per time it was sent, whole, with its truncation.
    assert query("SELECT alert_count, truncated_alerts FROM deliveries ORDER BY id") == [
        (groups, 5),
        (groups, 5),
    ]
    [(truncated,)] = query(
        "SELECT sum(value) FROM event_counters WHERE name = 'slakeeper_alerts_truncated_total'"
    )
    assert truncated == 10


def test_opening_ten_times_the_incidents_costs_the_same_statements(database_url: str) -> None:
    engine = create_database_engine(database_url)
    upgrade(engine)
    rules = load_rule_file(EXAMPLE)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    counts = []
    for prefix, groups in (("Few", 20), ("Many", 200)):
        payload = big_push(groups)
        for alert in payload["alerts"]:
            alert["labels"]["alertname"] = prefix + alert["labels"]["alertname"]
        delivery = from_alertmanager_webhook(
            AlertmanagerWebhook.model_validate_json(json.dumps(payload)), now=NOW
        )
        statements.clear()
        with Session(engine) as session, session.begin():
            apply_deliveries(session, [delivery], rules=rules, now=NOW)
        counts.append(len(statements))
    with Session(engine) as session:
        opened = session.execute(text("SELECT count(*) FROM incidents")).scalar_one()
    engine.dispose()
    assert opened == 220
    # A fixed number of statements whatever the number of groups (it was 5 per incident).
    assert counts[0] == counts[1], "\n".join(statements[:80])


def observation(name: str, group: str) -> AlertObservation:
    return AlertObservation(
        fingerprint=f"{name}-{group}",
        status=AlertStatus.FIRING,
        starts_at=NOW,
        ends_at=None,
        labels={"alertname": name, "g": group},
        annotations={},
        generator_url="",
        source=Source.ALERTMANAGER,
        received_at=NOW,
    )


def test_slices_keep_each_group_whole_and_in_order() -> None:
    alerts = tuple(observation(f"a{n}", f"g{n % 5}") for n in range(23))
    delivery = Delivery(
        source=Source.ALERTMANAGER, received_at=NOW, alerts=alerts, truncated_alerts=3
    )
    parts = slices(delivery, lambda alert: alert.labels["g"], 6)
    assert len(parts) > 1
    seen = [alert for part in parts for alert in part.alerts]
    assert sorted(a.fingerprint for a in seen) == sorted(a.fingerprint for a in alerts)
    for part in parts:
        groups = {alert.labels["g"] for alert in part.alerts}
        for other in parts:
            if other is not part:
                assert not groups & {alert.labels["g"] for alert in other.alerts}
        names = [int(alert.labels["alertname"][1:]) for alert in part.alerts]
        for group in groups:
            in_group = [n for n in names if f"g{n % 5}" == group]
            assert in_group == sorted(in_group)
    assert [part.records_envelope for part in parts] == [False] * (len(parts) - 1) + [True]
    assert [part.truncated_alerts for part in parts][-1] == 3
    assert sum(part.truncated_alerts for part in parts) == 3
    assert {part.envelope_alert_count for part in parts} == {23}
    assert slices(delivery, lambda alert: alert.labels["g"], 23) == [delivery]
