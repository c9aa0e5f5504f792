"""The service-level metrics at `/metrics` (DESIGN §7), from the database, on both databases.

The example rule file lists `payments` (Asia/Shanghai, 99.5 %, two hours of maintenance on
1 November) and `checkout` (Europe/Berlin, 99.9 %); InstanceDown is a P1 outage. The test
clock starts at 2026-11-21 23:00 UTC.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import FIXTURES
from tests.integration.conftest import AppFactory, Clock
from tests.integration.payloads import webhook_alert
from tests.integration.test_availability_api import down, push
from tests.integration.test_promtool import promtool
from tests.unit.test_dashboards import EXPORTED

EXAMPLE = FIXTURES / "example_rules.yaml"
AM = "/api/v1/webhooks/alertmanager"
INCIDENTS = "/api/v1/incidents"
DOWNTIME = "slakeeper_service_downtime_seconds_total"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def uncached(make_app: AppFactory) -> FastAPI:
    """An app on the example rules that computes every figure at every scrape."""
    return make_app(rules=EXAMPLE, metrics_cache_seconds=0, availability_refresh_seconds=0)


@pytest.fixture
def api(make_app: AppFactory) -> Iterator[TestClient]:
    with TestClient(uncached(make_app)) as client:
        yield client


def scrape(client: TestClient) -> tuple[Samples, dict[str, str]]:
    """Every sample, and every family's type."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    samples: Samples = {}
    types = {}
    for family in text_string_to_metric_families(response.text):
        types[family.name] = family.type
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples, types


def value(client: TestClient, name: str, **labels: str) -> float:
    return scrape(client)[0][(name, frozenset(labels.items()))]


def downtime(client: TestClient, service: str = "payments") -> float:
    return value(client, DOWNTIME, service=service)


def only_incident(client: TestClient) -> dict[str, Any]:
    (incident,) = client.get(INCIDENTS).json()["items"]
    found: dict[str, Any] = incident
    return found


def act(client: TestClient, incident_id: int, action: str) -> None:
    response = client.post(f"{INCIDENTS}/{incident_id}/{action}", json={"actor": "ana"})
    assert response.status_code == 200, response.text


def test_every_service_level_metric_is_exported_for_the_listed_services(api: TestClient) -> None:
    samples, types = scrape(api)

    assert types["slakeeper_service_availability_ratio"] == "gauge"
    assert types["slakeeper_service_availability_target_ratio"] == "gauge"
    assert types["slakeeper_service_error_budget_remaining_ratio"] == "gauge"
    assert types["slakeeper_service_downtime_seconds"] == "counter"
    assert types["slakeeper_service_up"] == "gauge"
    assert types["slakeeper_incidents_open"] == "gauge"
    assert types["slakeeper_incident_response_seconds"] == "histogram"
    assert types["slakeeper_incident_resolution_seconds"] == "histogram"
    for service, target in (("payments", 0.995), ("checkout", 0.999)):
        for window in ("month", "30d"):
            labels = frozenset({"service": service, "window": window}.items())
            assert samples[("slakeeper_service_availability_ratio", labels)] == 1.0
            assert samples[("slakeeper_service_error_budget_remaining_ratio", labels)] == 1.0
        one = frozenset({"service": service}.items())
        assert samples[("slakeeper_service_availability_target_ratio", one)] == target
        assert samples[(DOWNTIME, one)] == 0
        assert samples[("slakeeper_service_up", one)] == 1
    # No active incident, no series (panels read `or vector(0)`).
    assert not [key for key in samples if key[0] == "slakeeper_incidents_open"]
    for priority in ("P1", "P2", "P3", "P4"):
        for name in (
            "slakeeper_incident_response_seconds",
            "slakeeper_incident_resolution_seconds",
        ):
            assert samples[(f"{name}_count", frozenset({"priority": priority}.items()))] == 0


def test_the_availability_gauges_agree_with_the_availability_api(
    api: TestClient, clock: Clock
) -> None:
    push(api, down("db1", "2026-11-10T10:00:00Z", "2026-11-10T10:30:00Z"))
    push(api, down("db2", "2026-11-21T22:30:00Z"))  # still firing

    month = api.get("/api/v1/services/payments/availability", params={"month": "2026-11"}).json()
    rolling = api.get(
        "/api/v1/services/payments/availability",
        params={"from": "2026-10-22T23:00:00Z", "to": "2026-11-21T23:00:00Z"},
    ).json()

    for window, figures in (("month", month), ("30d", rolling)):
        labels = {"service": "payments", "window": window}
        assert value(api, "slakeeper_service_availability_ratio", **labels) == pytest.approx(
            figures["availability_ratio"], abs=1e-12
        )
        left = figures["error_budget_remaining_seconds"] / figures["error_budget_seconds"]
        ratio = value(api, "slakeeper_service_error_budget_remaining_ratio", **labels)
        assert ratio == pytest.approx(left, abs=1e-6)
    assert month["downtime_seconds"] == 1800 + 1800
    assert value(api, "slakeeper_service_up", service="payments") == 0
    assert value(api, "slakeeper_service_up", service="checkout") == 1
    states = {item["name"]: item["state"] for item in api.get("/api/v1/services").json()["items"]}
    assert states == {"payments": "down", "checkout": "up"}


def test_an_overspent_budget_goes_negative(api: TestClient) -> None:
    # 99.5 % of November so far in Shanghai leaves ~2.6 h of budget; a day of outage is far past it.
    push(api, down("db1", "2026-11-20T23:00:00Z", "2026-11-21T23:00:00Z"))
    labels = {"service": "payments", "window": "month"}
    assert value(api, "slakeeper_service_error_budget_remaining_ratio", **labels) < -5


def test_the_downtime_counter_grows_second_by_second_while_an_outage_lasts(
    api: TestClient, clock: Clock
) -> None:
    push(api, down("db1", "2026-11-21T22:59:00Z"))
    assert downtime(api) == 60
    clock.advance(seconds=1)
    assert downtime(api) == 61
    clock.advance(seconds=89)
    assert downtime(api) == 150
    assert downtime(api, "checkout") == 0


def test_the_downtime_counter_never_decreases_when_the_outage_turns_out_shorter(
    api: TestClient, clock: Clock
) -> None:
    push(api, down("db1", "2026-11-21T22:59:00Z"))
    clock.advance(seconds=90)  # 23:01:30
    assert downtime(api) == 150
    # The resolved notification arrives late: the outage ended at 23:01:00.
    push(api, down("db1", "2026-11-21T22:59:00Z", "2026-11-21T23:01:00Z"))
    assert downtime(api) == 150
    clock.advance(minutes=5)
    assert downtime(api) == 150
    # The next outage first makes up the 30 s counted too many, then counts on.
    push(api, down("db2", "2026-11-21T23:06:30Z"))
    clock.advance(seconds=60)  # 23:07:30
    assert downtime(api) == 180
    clock.advance(seconds=10)
    assert downtime(api) == 190


def test_the_downtime_counter_survives_restarts_and_reclassification(
    make_app: AppFactory, clock: Clock
) -> None:
    with TestClient(uncached(make_app)) as first:
        push(first, down("db1", "2026-11-21T22:50:00Z"))
        assert downtime(first) == 600
        incident = only_incident(first)
        lowered = first.patch(
            f"{INCIDENTS}/{incident['id']}", json={"actor": "ana", "impact": "none"}
        )
        assert lowered.status_code == 200, lowered.text
        # Lowered to no impact, the outage counts for nothing in the figures...
        month = first.get("/api/v1/services/payments/availability", params={"month": "2026-11"})
        assert month.json()["downtime_seconds"] == 0
        # ...but the counter, already shown at 600, holds.
        assert downtime(first) == 600
    clock.advance(minutes=1)
    with (
        TestClient(uncached(make_app)) as restarted,
        TestClient(uncached(make_app)) as replica,
    ):
        assert downtime(restarted) == 600
        assert downtime(replica) == 600


def test_settled_downtime_is_kept_as_the_checkpoint_moves_on(
    api: TestClient, clock: Clock, query: Any
) -> None:
    push(api, down("db1", "2026-11-21T23:00:00Z"))
    seen = []
    for _ in range(12):  # four hours in 20-minute steps; resolved after two
        clock.advance(minutes=20)
        if clock.now.hour == 1 and clock.now.minute == 0:
            push(api, down("db1", "2026-11-21T23:00:00Z", "2026-11-22T01:00:00Z"))
        seen.append(downtime(api))
    assert seen == [1200 * min(step, 6) for step in range(1, 13)]
    ((through,),) = query(
        "SELECT settled_through_us FROM downtime_counters WHERE service = 'payments'"
    )
    # The checkpoint has moved past the outage: its two hours are settled.
    assert through > 1_763_773_200_000_000  # 2026-11-22T01:00:00Z


def test_maintenance_stops_the_counter_and_keeps_the_service_up(
    api: TestClient, clock: Clock
) -> None:
    push(api, down("db1", "2026-11-21T22:59:00Z"))
    planned = api.post(
        "/api/v1/maintenance",
        json={
            "service": "payments",
            "start": "2026-11-21T23:00:00Z",
            "end": "2026-11-21T23:30:00Z",
            "reason": "failover drill",
            "actor": "ana",
        },
    )
    assert planned.status_code == 201, planned.text
    clock.advance(minutes=10)
    assert downtime(api) == 60
    assert value(api, "slakeeper_service_up", service="payments") == 1
    clock.advance(minutes=25)  # 23:35: maintenance is over, the outage is not
    assert downtime(api) == 60 + 300
    assert value(api, "slakeeper_service_up", service="payments") == 0


def test_open_incidents_are_counted_by_service_priority_and_state(
    api: TestClient, clock: Clock
) -> None:
    push(api, down("db1", "2026-11-21T22:59:00Z"))
    manual = api.post(
        INCIDENTS,
        json={
            "actor": "ana",
            "title": "checkout slow for some",
            "service": "checkout",
            "priority": "P3",
            "impact": "degraded",
            "category": "software",
            "reporter": "a customer",
            "channel": "phone",
        },
    )
    assert manual.status_code == 201, manual.text

    def open_count(service: str, priority: str, state: str) -> float | None:
        labels = {"service": service, "priority": priority, "state": state}
        return scrape(api)[0].get(("slakeeper_incidents_open", frozenset(labels.items())))

    assert open_count("payments", "P1", "open") == 1
    assert open_count("checkout", "P3", "open") == 1
    act(api, manual.json()["id"], "ack")
    assert open_count("checkout", "P3", "open") is None
    assert open_count("checkout", "P3", "acknowledged") == 1
    act(api, manual.json()["id"], "resolve")
    assert open_count("checkout", "P3", "acknowledged") is None
    assert open_count("payments", "P1", "open") == 1
    assert value(api, "slakeeper_service_up", service="checkout") == 1


def test_response_and_resolution_times_are_observed_once_and_survive_a_restart(
    make_app: AppFactory, clock: Clock
) -> None:
    def observed(client: TestClient, kind: str, suffix: str, **labels: str) -> float:
        return value(client, f"slakeeper_incident_{kind}_seconds_{suffix}", **labels)

    with TestClient(uncached(make_app)) as first:
        push(first, down("db1", "2026-11-21T22:59:00Z"))
        incident = only_incident(first)
        clock.advance(minutes=10)
        act(first, incident["id"], "ack")
        # Reclassified after the acknowledgement: measured again, not observed again.
        moved = first.patch(f"{INCIDENTS}/{incident['id']}", json={"actor": "a", "priority": "P2"})
        assert moved.status_code == 200, moved.text
        clock.advance(minutes=20)
        act(first, incident["id"], "resolve")
    with TestClient(uncached(make_app)) as restarted:
        assert observed(restarted, "response", "count", priority="P1") == 1
        assert observed(restarted, "response", "sum", priority="P1") == 600
        assert observed(restarted, "response", "bucket", priority="P1", le="300.0") == 0
        assert observed(restarted, "response", "bucket", priority="P1", le="900.0") == 1
        assert observed(restarted, "response", "bucket", priority="P1", le="+Inf") == 1
        assert observed(restarted, "response", "count", priority="P2") == 0
        # Resolved under P2, 30 minutes after opening.
        assert observed(restarted, "resolution", "count", priority="P2") == 1
        assert observed(restarted, "resolution", "sum", priority="P2") == 1800
        assert observed(restarted, "resolution", "bucket", priority="P2", le="900.0") == 0
        assert observed(restarted, "resolution", "bucket", priority="P2", le="1800.0") == 1


def test_figures_are_reused_for_the_cache_time(make_app: AppFactory, clock: Clock) -> None:
    with TestClient(make_app(rules=EXAMPLE, metrics_cache_seconds=300)) as cached:
        assert downtime(cached) == 0
        push(cached, down("db1", "2026-11-21T22:59:00Z"))
        clock.advance(seconds=30)
        # Still the figures computed at the first scrape (the cache runs on real time).
        assert downtime(cached) == 0
        assert (
            value(cached, "slakeeper_alerts_received_total", source="alertmanager", status="firing")
            == 1
        )


def test_the_whole_exposition_passes_promtool_check_metrics(api: TestClient, clock: Clock) -> None:
    push(api, down("db1", "2026-11-21T22:59:00Z"))
    push(api, webhook_alert("HighLatency", severity="warning", job="checkout-api"))
    incident = only_incident_of(api, "payments")
    clock.advance(minutes=10)
    act(api, incident["id"], "ack")
    act(api, incident["id"], "resolve")
    exposition = api.get("/metrics").text
    assert "slakeeper_incident_response_seconds_bucket" in exposition

    checked = check_metrics(exposition)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # The same check does find problems: a counter named without `_total`.
    broken = "# HELP broken_counter A counter.\n# TYPE broken_counter counter\nbroken_counter 1\n"
    refused = check_metrics(broken)
    assert refused.returncode != 0
    assert "_total" in refused.stdout + refused.stderr


def check_metrics(exposition: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), "check", "metrics"],
        input=exposition,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def only_incident_of(client: TestClient, service: str) -> dict[str, Any]:
    (incident,) = client.get(INCIDENTS, params={"service": service}).json()["items"]
    found: dict[str, Any] = incident
    return found


def test_every_metric_of_design_section_7_is_exported_with_its_type_and_labels(
    api: TestClient,
) -> None:
    push(api, down("db1", "2026-11-21T22:59:00Z"))
    exposition = api.get("/metrics").text
    types = dict(
        line.split()[2:4] for line in exposition.splitlines() if line.startswith("# TYPE ")
    )
    label_names: dict[str, set[frozenset[str]]] = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            names = frozenset(sample.labels) - {"le"}
            label_names.setdefault(family.name, set()).add(names)
    for name, (kind, labels) in EXPORTED.items():
        assert types.get(name) == kind, name
        base = name.removesuffix("_total")
        # Counters of events that have not happened yet have no series, only their TYPE.
        assert label_names.get(base, {labels}) == {labels}, name


def test_every_contact_of_the_rule_file_shows_its_failed_notifications_from_zero(
    api: TestClient,
) -> None:
    samples, _ = scrape(api)
    failed = {
        dict(labels)["contact"]: count
        for (name, labels), count in samples.items()
        if name == "slakeeper_notifications_failed_total"
    }
    contacts = ["on-duty", "lead", "experts", "manager1", "manager2", "manager3", "vendor"]
    assert failed == dict.fromkeys(contacts, 0)
