"""Planned maintenance end to end: an outage that Prometheus really fired, inside a window
planned through slakeeper's API, counts as maintenance, not downtime."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.clients import Prometheus, SlakeeperServer
from tests.e2e.configs import CRITICAL_RATIO
from tests.e2e.scenario import ErrorRatio, one, span_seconds
from tests.e2e.support import parse_time, rfc3339, wait_until


@pytest.mark.e2e
def test_an_outage_inside_a_maintenance_window_is_not_downtime(
    slakeeper: SlakeeperServer,
    prometheus: Prometheus,
    error_ratio: Callable[..., ErrorRatio],
) -> None:
    ratio = error_ratio()
    now = datetime.now(UTC).replace(microsecond=0)
    window_start, window_end = now - timedelta(seconds=30), now + timedelta(minutes=10)
    planned = slakeeper.post(
        "/api/v1/maintenance",
        {
            "service": ratio.service,
            "start": rfc3339(window_start),
            "end": rfc3339(window_end),
            "reason": "e2e: planned switch replacement",
            "actor": "e2e",
        },
    )
    assert planned["service"] == ratio.service

    ratio.set(CRITICAL_RATIO * 2)
    wait_until(
        lambda: ratio.alerts_in(slakeeper, "critical", status="firing"),
        what=f"the critical alert of {ratio.service} to fire in slakeeper",
    )
    services = {service["name"]: service for service in slakeeper.get("/api/v1/services")["items"]}
    assert services[ratio.service]["state"] == "maintenance", services[ratio.service]

    ratio.clear()
    critical = wait_until(
        lambda: ratio.alerts_in(slakeeper, "critical", status="resolved"),
        what=f"the critical alert of {ratio.service} to resolve in slakeeper",
    )
    instance = one(critical, "critical instance")
    assert instance["impact"] == "outage"
    outage = span_seconds(instance)
    assert outage > 0
    assert window_start < parse_time(instance["starts_at"]) < parse_time(instance["ends_at"])

    # A period that starts before the window: the outage would be downtime without it.
    period_start, period_end = window_start - timedelta(minutes=1), datetime.now(UTC)
    figures = slakeeper.availability(ratio.service, period_start, period_end)
    assert figures["downtime_seconds"] == 0
    assert figures["maintenance_seconds"] == pytest.approx(
        (parse_time(figures["to"]) - window_start).total_seconds(), abs=1e-3
    )
    assert figures["availability_ratio"] == 1
    assert figures["error_budget_remaining_seconds"] == figures["error_budget_seconds"]

    # Prometheus fired it: the outage was real, only the window hides it.
    evaluations = prometheus.firing_samples(ratio.promql("critical"))
    assert evaluations, "Prometheus has no ALERTS samples of the critical alert"
    assert evaluations[-1] + 1 - evaluations[0] == pytest.approx(outage, abs=1.0)
