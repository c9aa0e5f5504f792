"""Alerts from real Alertmanager and Prometheus processes, all the way into slakeeper.

Each test runs against slakeeper on SQLite and on PostgreSQL (the `slakeeper` fixture);
Alertmanager (its webhook) and Prometheus #2 (`POST /api/v2/alerts`) push to both servers,
and every test uses alert names or label values of its own, so tests do not see each
other's alerts.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from collector.fingerprint import labels_fingerprint
from tests.e2e.clients import Alertmanager, DirectPrometheus, SlakeeperServer
from tests.e2e.support import parse_time, unique_name, wait_until


def _with_status(items: list[dict[str, Any]], status: str) -> dict[str, Any] | None:
    return next((item for item in items if item["status"] == status), None)


@pytest.mark.e2e
def test_an_amtool_injected_alert_arrives_through_alertmanager_with_its_fingerprint(
    slakeeper: SlakeeperServer, alertmanager: Alertmanager
) -> None:
    labels = {"alertname": unique_name("E2EInjected"), "service": "probe", "severity": "critical"}

    alertmanager.add_alert(labels, {"summary": "hello"})

    items = wait_until(
        lambda: slakeeper.alerts_named(labels["alertname"]),
        what=f"{labels['alertname']} to reach slakeeper through Alertmanager's webhook",
    )
    assert len(items) == 1, items
    alert = items[0]
    assert alert["fingerprint"] == labels_fingerprint(labels)
    (in_alertmanager,) = alertmanager.alerts_named(labels["alertname"])
    assert alert["fingerprint"] == in_alertmanager["fingerprint"]
    assert alert["source"] == "alertmanager"
    assert alert["status"] == "firing"
    assert alert["ends_at"] is None
    assert alert["labels"] == labels
    assert alert["annotations"] == {"summary": "hello"}
    # Alertmanager's API shows milliseconds; its webhook (what slakeeper got) nanoseconds.
    started = parse_time(alert["starts_at"]) - parse_time(in_alertmanager["startsAt"])
    assert abs(started) < timedelta(milliseconds=1)
    assert alert["receive_count"] >= 1
    assert slakeeper.alerts(fingerprint=alert["fingerprint"]) == [alert]


@pytest.mark.e2e
def test_an_alert_resolved_in_alertmanager_is_resolved_in_slakeeper(
    slakeeper: SlakeeperServer, alertmanager: Alertmanager
) -> None:
    labels = {"alertname": unique_name("E2EResolved"), "service": "probe", "severity": "warning"}
    fingerprint = labels_fingerprint(labels)
    alertmanager.add_alert(labels, {"summary": "about to be resolved"})
    firing = wait_until(
        lambda: _with_status(slakeeper.alerts(fingerprint=fingerprint), "firing"),
        what=f"{labels['alertname']} to fire in slakeeper",
    )

    # Re-adding the alert with an end time resolves it in Alertmanager, which then sends
    # a "resolved" webhook (send_resolved: true) at its next group interval.
    ended = datetime.now(UTC).replace(microsecond=0)
    alertmanager.add_alert(labels, {"summary": "about to be resolved"}, end=ended)

    resolved = wait_until(
        lambda: _with_status(
            slakeeper.alerts(fingerprint=fingerprint, status="resolved"), "resolved"
        ),
        what=f"{labels['alertname']} to be resolved in slakeeper",
    )
    assert resolved["ends_at"] is not None
    assert parse_time(resolved["ends_at"]) == ended
    assert resolved["starts_at"] == firing["starts_at"], "the firing instance itself must end"
    assert resolved["id"] == firing["id"]
    assert resolved["source"] == "alertmanager"
    assert resolved["receive_count"] >= 2
    assert slakeeper.alerts(fingerprint=fingerprint, status="firing") == []
    assert slakeeper.alerts(fingerprint=fingerprint) == [resolved]


@pytest.mark.e2e
def test_prometheus_posting_directly_to_api_v2_alerts_creates_a_firing_alert(
    slakeeper: SlakeeperServer, direct_prometheus: DirectPrometheus
) -> None:
    labels = dict(direct_prometheus.always_firing)
    # Prometheus evaluates and sends only a few seconds after it starts.
    items = wait_until(
        lambda: slakeeper.alerts_named(labels["alertname"]),
        what=f"Prometheus' {labels['alertname']} to reach slakeeper's /api/v2/alerts",
    )
    assert len(items) == 1, items
    alert = items[0]
    assert alert["labels"] == labels
    assert alert["fingerprint"] == labels_fingerprint(labels)
    assert alert["source"] == "prometheus"
    assert alert["status"] == "firing"
    assert alert["ends_at"] is None
    assert alert["annotations"] == {"summary": "always firing (value 1)"}
    assert "/graph?g0.expr=vector%281%29" in alert["generator_url"]
    assert slakeeper.alerts(fingerprint=alert["fingerprint"], status="firing") == [alert]

    endpoint = f"{slakeeper.url}/api/v2/alerts"
    assert endpoint in direct_prometheus.active_alertmanagers()
    sent = direct_prometheus.notification_counter("prometheus_notifications_sent_total", endpoint)
    errors = direct_prometheus.notification_counter(
        "prometheus_notifications_errors_total", endpoint
    )
    assert sent is not None and sent >= 1
    assert errors == 0, f"Prometheus failed {errors} times to post to {endpoint}"


@pytest.mark.e2e
def test_prometheus_re_sending_a_firing_alert_adds_to_the_receive_count_of_one_instance(
    slakeeper: SlakeeperServer, direct_prometheus: DirectPrometheus
) -> None:
    alertname = direct_prometheus.always_firing["alertname"]

    def counted_twice() -> list[dict[str, Any]] | None:
        items = slakeeper.alerts_named(alertname)
        return items if items and items[0]["receive_count"] >= 2 else None

    # Prometheus re-sends firing alerts every second or two (--rules.alert.resend-delay=1s).
    items = wait_until(counted_twice, what=f"a second push of {alertname}")
    assert len(items) == 1, "every push carries the same startsAt: one instance"
    assert parse_time(items[0]["last_received_at"]) > parse_time(items[0]["first_received_at"])


@pytest.mark.e2e
def test_an_alert_that_stops_firing_in_prometheus_is_resolved_in_slakeeper(
    slakeeper: SlakeeperServer, direct_prometheus: DirectPrometheus
) -> None:
    case = uuid.uuid4().hex[:12]
    alertname = direct_prometheus.switched_alertname
    direct_prometheus.target.set("e2e_switch", {"case": case}, 1)
    items = wait_until(
        lambda: slakeeper.alerts_named(alertname, f'case="{case}"', status="firing"),
        what=f"{alertname}{{case={case!r}}} to fire in slakeeper",
    )
    assert len(items) == 1, items
    firing = items[0]
    assert firing["source"] == "prometheus"
    assert firing["labels"]["severity"] == "warning"
    assert firing["labels"]["job"] == "e2e-switch"
    assert firing["labels"]["instance"] == direct_prometheus.target.address
    assert firing["fingerprint"] == labels_fingerprint(firing["labels"])

    direct_prometheus.target.set("e2e_switch", {"case": case}, 0)

    resolved = wait_until(
        lambda: _with_status(
            slakeeper.alerts(fingerprint=firing["fingerprint"], status="resolved"), "resolved"
        ),
        what=f"{alertname}{{case={case!r}}} to be resolved in slakeeper",
    )
    assert resolved["id"] == firing["id"], "the firing instance itself must end"
    assert resolved["starts_at"] == firing["starts_at"]
    assert resolved["ends_at"] is not None
    ends_at = parse_time(resolved["ends_at"])
    assert parse_time(firing["starts_at"]) < ends_at <= datetime.now(UTC)
    assert slakeeper.alerts(fingerprint=firing["fingerprint"]) == [resolved]
