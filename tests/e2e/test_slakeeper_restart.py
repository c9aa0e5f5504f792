"""slakeeper stopped for 10 s while Alertmanager keeps sending loses nothing once it is back.

The scenario has servers (SQLite and PostgreSQL) and an Alertmanager of its own (the
`restart_stack`), so stopping them disturbs no other test; both servers stop and come
back together, which covers both databases with one 10 s pause.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial

import httpx
import pytest

from tests.e2e.clients import Prometheus
from tests.e2e.configs import CRITICAL_RATIO, WARNING_RATIO
from tests.e2e.scenario import ErrorRatio, one
from tests.e2e.stacks import Stack
from tests.e2e.support import parse_time, wait_until

STOPPED_FOR = timedelta(seconds=10)
BETWEEN = (WARNING_RATIO + CRITICAL_RATIO) / 2
FAILED = "alertmanager_notifications_failed_total"


@pytest.mark.e2e
def test_alerts_sent_while_slakeeper_is_stopped_for_10_s_all_arrive_once_it_is_back(
    restart_stack: Stack,
    prometheus: Prometheus,
    error_ratio: Callable[..., ErrorRatio],
    http: httpx.Client,
) -> None:
    servers = restart_stack.fleet.all_servers()
    alertmanager = restart_stack.alertmanager
    ends = error_ratio(stack="restart")
    begins = error_ratio(stack="restart")
    ends.set(BETWEEN)
    for server in servers:
        wait_until(
            partial(ends.alerts_in, server, "warning", status="firing"),
            what=f"{ends.service}'s warning to fire in slakeeper on {server.backend}",
        )
    failed_before = alertmanager.counter(FAILED, integration="webhook")

    stopped = time.monotonic()
    for server in servers:
        server.service.stop()
    try:
        ends.clear()
        begins.set(BETWEEN)
        # Alertmanager has both changes, and tries (and fails) to deliver them.
        wait_until(
            lambda: (
                alertmanager.alerts_matching(f'service="{begins.service}"')
                and not alertmanager.alerts_matching(f'service="{ends.service}"')
            ),
            what="Alertmanager to see one alert resolve and the other fire",
        )
        wait_until(
            lambda: alertmanager.counter(FAILED, integration="webhook") > failed_before,
            what="Alertmanager to fail to reach the stopped servers",
        )
        # The suite's one fixed wait: the 10 s outage the scenario is about.
        time.sleep(max(0.0, STOPPED_FOR.total_seconds() - (time.monotonic() - stopped)))
    finally:
        back_at = datetime.now(UTC)
        for server in servers:
            server.service.restart(http)

    ended_at = _prometheus_end(prometheus, ends)
    began_at = begins.active_at("warning")
    for server in servers:
        resolved = wait_until(
            partial(ends.alerts_in, server, "warning", status="resolved"),
            what=f"{ends.service}'s resolved notification to reach {server.backend}",
        )
        firing = wait_until(
            partial(begins.alerts_in, server, "warning", status="firing"),
            what=f"{begins.service}'s firing notification to reach {server.backend}",
        )
        ended = one(resolved, f"instance of {ends.service} on {server.backend}")
        assert one(ends.alerts_in(server, "warning"), "instance") == ended
        assert parse_time(ended["ends_at"]) < back_at, "it ended while slakeeper was down"
        assert abs(parse_time(ended["ends_at"]) - ended_at) <= timedelta(seconds=1)
        assert server.incident(ended["incident_id"])["state"] == "resolved"

        began = one(firing, f"instance of {begins.service} on {server.backend}")
        assert one(begins.alerts_in(server, "warning"), "instance") == began
        assert parse_time(began["starts_at"]) < back_at, "it began while slakeeper was down"
        assert parse_time(began["first_received_at"]) >= back_at
        assert abs(parse_time(began["starts_at"]) - began_at) < timedelta(milliseconds=1)
        assert server.incident(began["incident_id"])["state"] == "open"


def _prometheus_end(prometheus: Prometheus, ratio: ErrorRatio) -> datetime:
    """When Prometheus resolved the warning of `ratio`: the evaluation after its last
    firing one (evaluations are 1 s apart)."""
    evaluations = prometheus.firing_samples(ratio.promql("warning"))
    assert evaluations, f"Prometheus has no ALERTS samples of {ratio.service}'s warning"
    return datetime.fromtimestamp(evaluations[-1] + 1, UTC)
