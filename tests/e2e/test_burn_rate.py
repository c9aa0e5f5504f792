"""A sustained outage fires the burn-rate page alert that `slakeeper rules prometheus`
generated, in the real Prometheus that scrapes slakeeper.

The chain: Prometheus #1 fires a critical on the SLO service's error ratio; Alertmanager
posts it to both slakeeper servers (SQLite and PostgreSQL), which open an outage incident;
their `slakeeper_service_downtime_seconds_total` grows; Prometheus scrapes both, records
the downtime ratio (the largest of the replicas, not their sum) and fires
`SlakeeperErrorBudgetBurn` with severity `page` once 1 h and 5 m both burn faster than
14.4 times the budget.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.e2e.clients import Prometheus, SlakeeperServer
from tests.e2e.configs import SLO_SERVICE, SLO_TARGET
from tests.e2e.scenario import ErrorRatio
from tests.e2e.stacks import SlakeeperFleet
from tests.e2e.support import wait_until

PAGE = {
    "alertname": "SlakeeperErrorBudgetBurn",
    "service": SLO_SERVICE,
    "severity": "page",
    "long_window": "1h",
    "short_window": "5m",
}


def _downtime(prometheus: Prometheus) -> dict[str, float]:
    series = prometheus.query(
        f'slakeeper_service_downtime_seconds_total{{job="slakeeper",service="{SLO_SERVICE}"}}'
    )
    return {entry["metric"]["instance"]: float(entry["value"][1]) for entry in series}


@pytest.mark.e2e
def test_a_sustained_outage_fires_the_generated_page_alert(
    prometheus: Prometheus, slakeeper_fleet: SlakeeperFleet
) -> None:
    servers = slakeeper_fleet.all_servers()
    outage = ErrorRatio(prometheus, SLO_SERVICE)
    before = _downtime(prometheus)
    outage.set(0.5)  # far above the critical threshold: an outage
    try:
        _check_the_page_fires(prometheus, servers, before)
    finally:
        outage.clear()


def _check_the_page_fires(
    prometheus: Prometheus, servers: list[SlakeeperServer], before: dict[str, float]
) -> None:
    # slakeeper: the service is down on every server.
    for server in servers:

        def down(server: SlakeeperServer = server) -> bool:
            services = server.get("/api/v1/services")["items"]
            return any(i["name"] == SLO_SERVICE and i["state"] == "down" for i in services)

        wait_until(down, what=f"{SLO_SERVICE} to be down in slakeeper on {server.backend}")
    # Prometheus: every replica's counter grows, and the page alert fires.
    wait_until(
        lambda: (
            len(grown := _downtime(prometheus)) == len(servers)
            and all(grown[i] > before.get(i, 0) + 2 for i in grown)
        ),
        what=f"the downtime counter of {SLO_SERVICE} to grow on every server",
    )
    selector = ",".join(f'{name}="{value}"' for name, value in PAGE.items())
    wait_until(
        lambda: prometheus.firing_samples(selector, lookback="1m"),
        timeout=60,
        what=f"Prometheus to fire {PAGE}",
    )
    alert = prometheus.active_alert(PAGE)
    assert alert is not None and alert["state"] == "firing", alert
    threshold = Decimal("14.4") * (1 - Decimal(str(SLO_TARGET)) / 100)
    assert float(alert["value"]) > float(threshold)
    # One replica's ratio, not the sum of two: never more than all of the time.
    (ratio,) = prometheus.query(
        f'slakeeper:service_downtime:ratio_rate5m{{service="{SLO_SERVICE}"}}'
    )
    assert 0 < float(ratio["value"][1]) <= 1
