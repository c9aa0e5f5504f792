"""Ingestion counters at `/metrics`: exact, durable across restarts, shared by replicas."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import fixture_json
from tests.integration.conftest import AppFactory
from tests.integration.payloads import webhook

AM = "/api/v1/webhooks/alertmanager"


def samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def received(source: str, status: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return ("slakeeper_alerts_received_total", (("source", source), ("status", status)))


def truncated(source: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return ("slakeeper_alerts_truncated_total", (("source", source),))


def test_counters_start_at_zero_for_every_source(client: TestClient) -> None:
    found = samples(client)
    for source in ("alertmanager", "prometheus", "grafana"):
        assert found[truncated(source)] == 0
        for status in ("firing", "resolved"):
            assert found[received(source, status)] == 0


def test_received_alerts_and_truncations_are_counted(client: TestClient) -> None:
    client.post(AM, json=webhook("webhook_firing_critical.json", truncatedAlerts=7))
    client.post(AM, json=webhook("webhook_resolved_critical.json"))
    client.post(AM, json=webhook("webhook_resolved_critical.json"))
    client.post("/api/v2/alerts", json=fixture_json("prometheus-2.42/api_v2_alerts_resolved.json"))
    client.post(AM, content=b"{broken", headers={"Content-Type": "application/json"})
    found = samples(client)
    assert found[received("alertmanager", "firing")] == 1
    assert found[received("alertmanager", "resolved")] == 2
    assert found[received("prometheus", "resolved")] == 1
    assert found[truncated("alertmanager")] == 7


def test_counters_survive_a_restart_and_agree_across_replicas(make_app: AppFactory) -> None:
    with TestClient(make_app()) as first:
        first.post(AM, json=webhook("webhook_firing_warning.json", truncatedAlerts=2))
    with TestClient(make_app()) as restarted, TestClient(make_app()) as replica:
        restarted.post(AM, json=webhook("webhook_firing_warning.json"))
        assert samples(restarted)[received("alertmanager", "firing")] == 2
        assert samples(replica)[received("alertmanager", "firing")] == 2
        assert samples(replica)[truncated("alertmanager")] == 2
