"""Prometheus #1 as its users run it beside slakeeper: it scrapes every slakeeper server
(job `slakeeper`), evaluates the rules `slakeeper rules prometheus` generated from the rule
file, and sends its alerts to Alertmanager."""

from __future__ import annotations

import pytest

from tests.e2e.clients import Alertmanager, Prometheus
from tests.e2e.stacks import SlakeeperFleet
from tests.e2e.support import wait_until

GENERATED_GROUPS = {"slakeeper-availability", "slakeeper-error-budget-burn"}


@pytest.mark.e2e
def test_prometheus_scrapes_every_slakeeper_server_as_job_slakeeper(
    prometheus: Prometheus, slakeeper_fleet: SlakeeperFleet
) -> None:
    expected = {server.address for server in slakeeper_fleet.servers.values()}

    def instances(expr: str) -> set[str]:
        return {entry["metric"]["instance"] for entry in prometheus.query(expr)}

    wait_until(
        lambda: instances('up{job="slakeeper"} == 1') == expected,
        what=f'up{{job="slakeeper"}} == 1 for {sorted(expected)}',
    )
    # slakeeper's own series, not only the scrape's: every server has received alerts.
    wait_until(
        lambda: instances('slakeeper_alerts_received_total{job="slakeeper"}') == expected,
        what=f"slakeeper_alerts_received_total of {sorted(expected)} in Prometheus",
    )


@pytest.mark.e2e
def test_prometheus_evaluates_the_rules_slakeeper_generated_without_errors(
    prometheus: Prometheus, alertmanager: Alertmanager
) -> None:
    def generated() -> list[dict[str, object]] | None:
        groups = [g for g in prometheus.rule_groups() if g["name"] in GENERATED_GROUPS]
        rules = [rule for group in groups for rule in group["rules"]]
        evaluated = len(groups) == len(GENERATED_GROUPS) and all(
            rule["lastEvaluation"] != "0001-01-01T00:00:00Z" for rule in rules
        )
        return rules if evaluated else None

    rules = wait_until(generated, what=f"Prometheus to evaluate the groups {GENERATED_GROUPS}")
    assert [rule for rule in rules if rule["health"] != "ok"] == []
    assert any(rule["name"] == "SlakeeperErrorBudgetBurn" for rule in rules)
    assert f"{alertmanager.url}/api/v2/alerts" in prometheus.active_alertmanagers()
