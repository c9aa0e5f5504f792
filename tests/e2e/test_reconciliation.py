"""A resolved notification dropped on the way is repaired by reconciliation.

Prometheus #1 fires a warning through the reconciliation stack's Alertmanager, whose webhook
passes a relay; the relay answers 200 to the resolved notification and passes nothing on
(`dropped_resolved`). slakeeper's reconciliation job, which reads that Alertmanager, must
resolve the alert and its incident by itself.

The stack's servers reconcile every `RECONCILE_INTERVAL`, and resolve an alert only once
Alertmanager has been up, and nothing was heard of the alert, for `RECONCILE_GRACE`
(`configs.reconciliation_settings`): the repair comes after that grace, and at most one
interval (and a little slack) later.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

import pytest

from tests.e2e.clients import Prometheus, metric_value
from tests.e2e.configs import CRITICAL_RATIO, RECONCILE_GRACE, RECONCILE_INTERVAL, WARNING_RATIO
from tests.e2e.loopback import Relayed
from tests.e2e.scenario import ErrorRatio, one
from tests.e2e.stacks import ReconcileStack
from tests.e2e.support import parse_time, wait_until

SLACK = timedelta(seconds=5)
"""A reconciliation run is not instantaneous, and Alertmanager lists every other test's
alerts too."""


@dataclass(frozen=True)
class DroppedResolved:
    """An alert of the reconciliation stack whose resolved notification the relay dropped."""

    ratio: ErrorRatio
    """Its error ratio: the alert is this service's warning."""
    held: dict[str, dict[str, Any]]
    """The firing instance each server (by backend) held once the resolved was dropped."""
    armed_at: float
    """`time.monotonic()` when the resolved had been dropped on its way to every server."""


def _carries(status: str, service: str, payload: Any) -> bool:
    """Whether a webhook `payload` carries `service`'s alert with `status`."""
    return any(
        alert["status"] == status and alert["labels"].get("service") == service
        for alert in payload.get("alerts", [])
    )


@pytest.fixture
def dropped_resolved(
    reconcile_stack: ReconcileStack, error_ratio: Callable[..., ErrorRatio]
) -> Iterator[DroppedResolved]:
    """A warning fires through the reconciliation stack; its resolved notification is then
    swallowed by the relay on its way to every server."""
    reconcile_stack.fleet.all_servers()
    servers = reconcile_stack.fleet.servers
    relay = reconcile_stack.relay
    ratio = error_ratio(stack="reconcile")

    def relayed(status: str, dropped: bool, backend: str) -> list[Relayed]:
        return relay.received(
            lambda entry: (
                entry.dropped is dropped
                and entry.path == f"/{backend}"
                and _carries(status, ratio.service, entry.payload)
            )
        )

    ratio.set((WARNING_RATIO + CRITICAL_RATIO) / 2)
    # The webhook, not only reconciliation (which may add the alert first): Alertmanager
    # sends the resolved notification of a group only if it sent the firing one.
    for backend in servers:
        wait_until(
            partial(relayed, "firing", False, backend),
            what=f"Alertmanager to send {ratio.service}'s warning to {backend} through the relay",
        )
    firing = {
        backend: wait_until(
            partial(ratio.alerts_in, server, "warning", status="firing"),
            what=f"{ratio.service}'s warning to reach {backend}",
        )[0]
        for backend, server in servers.items()
    }

    relay.drop_when(partial(_carries, "resolved", ratio.service))
    ratio.clear()
    try:
        for backend in servers:
            wait_until(
                partial(relayed, "resolved", True, backend),
                what=f"the relay to drop {ratio.service}'s resolved notification to {backend}",
            )
        armed_at = time.monotonic()
        # Alertmanager sent the resolved only once the server had answered the firing: what
        # each server holds now is all it will hear of the alert.
        held = {
            backend: one(ratio.alerts_in(server, "warning"), f"instance of {ratio.service}")
            for backend, server in servers.items()
        }
        for backend, instance in held.items():
            assert instance["id"] == firing[backend]["id"], "one instance, the firing one"
            assert instance["status"] == "firing", "the drop must hold"
        yield DroppedResolved(ratio, held, armed_at)
    finally:
        relay.drop_when(lambda _payload: False)


@pytest.mark.e2e
@pytest.mark.timeout((RECONCILE_GRACE + RECONCILE_INTERVAL + SLACK).total_seconds() + 60)
def test_a_resolved_notification_dropped_on_the_way_is_repaired_by_reconciliation(
    dropped_resolved: DroppedResolved,
    reconcile_stack: ReconcileStack,
    prometheus: Prometheus,
    measurements: list[str],
) -> None:
    ratio = dropped_resolved.ratio
    servers = reconcile_stack.fleet.all_servers()
    # Reconciliation trusts Alertmanager's list once the alert has been unheard of for the
    # grace (Alertmanager has been up for longer: it started before this alert fired).
    deadline = (
        dropped_resolved.armed_at + (RECONCILE_GRACE + RECONCILE_INTERVAL + SLACK).total_seconds()
    )

    # The alert did end, in Prometheus and in Alertmanager; the servers never heard it.
    evaluations = prometheus.firing_samples(ratio.promql("warning"))
    assert evaluations, f"Prometheus has no ALERTS samples of {ratio.service}'s warning"
    assert prometheus.query(f"ALERTS{{{ratio.promql('warning')}}}") == []
    assert reconcile_stack.alertmanager.alerts_matching(f'service="{ratio.service}"') == []
    delivered = reconcile_stack.relay.received(
        lambda entry: not entry.dropped and _carries("resolved", ratio.service, entry.payload)
    )
    assert delivered == [], "the relay let a resolved notification through"

    for server in servers:
        resolved = wait_until(
            partial(ratio.alerts_in, server, "warning", status="resolved"),
            timeout=max(1.0, deadline - time.monotonic()),
            interval=0.5,
            what=f"reconciliation to resolve {ratio.service}'s warning on {server.backend}",
        )
        instance = one(resolved, f"instance of {ratio.service} on {server.backend}")
        held = dropped_resolved.held[server.backend]
        assert instance["id"] == held["id"], "the firing instance itself is resolved"
        assert instance["starts_at"] == held["starts_at"]
        # Resolved when reconciliation found it gone: after its real end, never before, and
        # not before the grace had passed since anything was heard of it.
        ends_at = parse_time(instance["ends_at"])
        ended_in_prometheus = evaluations[-1] + 1
        assert ends_at.timestamp() >= ended_in_prometheus
        last_heard = parse_time(held["last_received_at"])
        assert ends_at >= last_heard + RECONCILE_GRACE, (
            f"resolved at {ends_at}, within the grace of {RECONCILE_GRACE} after {last_heard}"
        )
        assert server.incident(instance["incident_id"])["state"] == "resolved"
        repairs = metric_value(
            server.metrics(), "slakeeper_reconciliation_repairs_total", {"kind": "lost_resolved"}
        )
        assert repairs == 1, "the repair is counted, and nothing else was repaired"
        # Only alerts routed to slakeeper's receiver: the rest of what that Alertmanager
        # lists (routed to `nobody`) is none of this server's business.
        held_labels = [alert["labels"] for alert in server.alerts()]
        assert held_labels and all(labels.get("stack") == "reconcile" for labels in held_labels)
        measurements.append(
            f"last heard of an alert -> resolved by reconciliation ({server.backend}): "
            f"{(ends_at - last_heard).total_seconds():.3f} s (grace "
            f"{RECONCILE_GRACE.total_seconds():g} s, "
            f"every {RECONCILE_INTERVAL.total_seconds():g} s)"
        )
