"""Every ingested alert is classified by the rules in force, and `POST /-/reload` swaps them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import FIXTURES
from tests.integration.conftest import AppFactory
from tests.integration.payloads import webhook, webhook_alert, webhook_with

AM = "/api/v1/webhooks/alertmanager"
EXAMPLE = FIXTURES / "example_rules.yaml"


def alerts(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/v1/alerts", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def classification(alert: dict[str, Any]) -> tuple[str, ...]:
    keys = ("service", "level", "priority", "category", "impact")
    return tuple(alert[key] for key in keys)


@pytest.fixture
def example_client(make_app: AppFactory) -> Any:
    with TestClient(make_app(rules=EXAMPLE)) as client:
        yield client


def test_ingested_alerts_are_stored_with_their_classification(example_client: TestClient) -> None:
    response = example_client.post(
        AM,
        json=webhook_with(
            webhook_alert("InstanceDown", instance="db1:9100", service="payments"),
            webhook_alert("Latency", severity="critical", job="checkout-api"),
            webhook_alert("Disk", severity="warning", service="payments"),
            webhook_alert("Heartbeat", severity="none"),
            webhook_alert("Mystery", service="search"),
        ),
    )
    assert response.status_code == 200, response.text
    stored = {a["labels"]["alertname"]: a for a in alerts(example_client)}
    assert {name: classification(a) for name, a in stored.items()} == {
        "InstanceDown": ("payments", "critical", "P1", "hardware", "outage"),
        "Latency": ("checkout", "critical", "P2", "other", "degraded"),
        "Disk": ("payments", "warning", "P3", "other", "none"),
        "Heartbeat": ("unknown", "info", "P4", "other", "none"),
        "Mystery": ("search", "warning", "P4", "other", "none"),
    }
    assert stored["Latency"]["group_key"] == '{service="checkout",alertname="Latency"}'


def test_alerts_can_be_filtered_by_their_classification(example_client: TestClient) -> None:
    example_client.post(
        AM,
        json=webhook_with(
            webhook_alert("InstanceDown", service="payments"),
            webhook_alert("Latency", severity="critical", service="payments"),
            webhook_alert("Disk", severity="warning", service="payments"),
        ),
    )

    def names(**params: str) -> set[str]:
        return {a["labels"]["alertname"] for a in alerts(example_client, **params)}

    assert names(priority="P1") == {"InstanceDown"}
    assert names(level="critical") == {"InstanceDown", "Latency"}
    assert names(impact="degraded") == {"Latency"}
    assert names(service="payments", level="warning") == {"Disk"}


def test_the_captured_fixtures_are_classified_by_the_shipped_rules(client: TestClient) -> None:
    for fixture in ("webhook_firing_critical.json", "webhook_firing_warning.json"):
        assert client.post(AM, json=webhook(fixture)).status_code == 200
    for alert in alerts(client):
        severity = alert["labels"].get("severity")
        expected = {"critical": ("critical", "P2"), "warning": ("warning", "P3")}[severity]
        assert (alert["level"], alert["priority"]) == expected
        assert alert["service"] not in (None, "")


def write_rules(path: Path, priority: str) -> None:
    rule = f"{{name: a, matchers: ['alertname=\"A\"'], priority: {priority}}}"
    path.write_text(f"rules:\n  - {rule}\n")


def test_a_reload_applies_to_new_alerts_and_a_repeat_keeps_its_classification(
    make_app: AppFactory, tmp_path: Path
) -> None:
    rule_file = tmp_path / "rules.yaml"
    write_rules(rule_file, "P3")
    with TestClient(make_app(rules=rule_file)) as client:
        first = webhook_with(webhook_alert("A", instance="one"))
        client.post(AM, json=first)
        write_rules(rule_file, "P1")
        response = client.post("/-/reload")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "reloaded"
        client.post(AM, json=first)  # a repeat of the instance already stored
        client.post(AM, json=webhook_with(webhook_alert("A", instance="two")))
        by_instance = {a["labels"]["instance"]: a for a in alerts(client)}
        assert by_instance["one"]["priority"] == "P3"
        assert by_instance["one"]["receive_count"] == 2
        assert by_instance["two"]["priority"] == "P1"


def metric(client: TestClient, name: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not exported")


def test_an_invalid_reload_is_refused_counted_and_keeps_the_rules_in_force(
    make_app: AppFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rule_file = tmp_path / "rules.yaml"
    write_rules(rule_file, "P2")
    with TestClient(make_app(rules=rule_file)) as client:
        assert metric(client, "slakeeper_rules_last_reload_successful") == 1
        rule_file.write_text("rules:\n  - {name: a, priority: P9}\n  - {name: b, level: loud}\n")
        response = client.post("/-/reload")
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "invalid_rules"
        assert "previous rules stay in force" in error["message"]
        assert error["details"] == [
            f"{rule_file}:2: rules[0].priority: unknown priority 'P9'; defined: P1, P2, P3, P4",
            f"{rule_file}:3: rules[1].level: unknown level 'loud'; defined: info, warning, "
            "critical",
        ]
        assert "rule file reload failed, keeping the previous rules" in caplog.text
        assert "rules[0].priority: unknown priority 'P9'" in caplog.text
        assert metric(client, "slakeeper_rules_reload_failures_total") == 1
        assert metric(client, "slakeeper_rules_last_reload_successful") == 0
        client.post(AM, json=webhook_with(webhook_alert("A")))
        assert alerts(client)[0]["priority"] == "P2"
        write_rules(rule_file, "P1")
        assert client.post("/-/reload").status_code == 200
        assert metric(client, "slakeeper_rules_last_reload_successful") == 1


def test_reload_needs_an_api_token_when_api_tokens_are_set(make_app: AppFactory) -> None:
    token = "api-token-0123456789"
    with TestClient(make_app(api_tokens=token)) as client:
        refused = client.post("/-/reload")
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"
        accepted = client.post("/-/reload", headers={"Authorization": f"Bearer {token}"})
        assert accepted.status_code == 200


def test_slakeeper_s_own_alerts_are_recorded_but_open_no_incident_by_default(
    client: TestClient, clock: Any
) -> None:
    # As Prometheus posts the burn-rate page `slakeeper rules prometheus` wrote.
    burn = {
        "labels": {
            "alertname": "SlakeeperErrorBudgetBurn",
            "service": "payments",
            "severity": "page",
            "long_window": "1h",
            "short_window": "5m",
        },
        "annotations": {"summary": "Service payments is burning its error budget 14.4x too fast"},
        "startsAt": "2026-11-21T22:00:00Z",
    }
    assert client.post("/api/v2/alerts", json=[burn]).status_code == 200
    [stored] = alerts(client)
    assert (stored["level"], stored["impact"], stored["incident_id"]) == ("info", "none", None)
    assert client.get("/api/v1/incidents").json()["items"] == []
    clock.advance(hours=1)
    figures = client.get("/api/v1/services/payments/availability", params={"month": "2026-11"})
    assert figures.status_code == 200, figures.text
    assert (figures.json()["degraded_seconds"], figures.json()["downtime_seconds"]) == (0, 0)
