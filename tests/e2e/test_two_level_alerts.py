"""The multi-level warning end to end: Prometheus #1 evaluates one error-ratio expression with
a warning and a critical threshold, Alertmanager posts its webhook to slakeeper, and
slakeeper's incidents, notifications and outage figures follow.

Each test drives the error ratio of a service of its own on the scrape target, and checks
slakeeper's API against Prometheus' query API. Both servers of the fleet receive every
alert; each parametrized run checks its own server with a service of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.clients import Prometheus, SlakeeperServer
from tests.e2e.configs import CRITICAL_RATIO, GROUP_WAIT, WARNING_RATIO, contacts_path
from tests.e2e.loopback import contact_messages
from tests.e2e.scenario import ErrorRatio, one, span_seconds
from tests.e2e.support import parse_time, wait_until
from tests.integration.receiver import WebhookReceiver

BETWEEN = (WARNING_RATIO + CRITICAL_RATIO) / 2
ABOVE = CRITICAL_RATIO * 2
LATENCY_GOAL = GROUP_WAIT + timedelta(seconds=1)


def _incident_visible(
    slakeeper: SlakeeperServer, service: str, priority: str
) -> tuple[dict[str, Any], datetime]:
    """Poll often (this is a latency measurement) until the service's incident shows
    `priority`; return it and when it was first seen."""
    incident = wait_until(
        lambda: next(
            (i for i in slakeeper.incidents(service=service) if i["priority"] == priority), None
        ),
        interval=0.05,
        what=f"a {priority} incident of {service} in slakeeper",
    )
    return incident, datetime.now(UTC)


def _measure(
    measurements: list[str], what: str, slakeeper: SlakeeperServer, seconds: float
) -> None:
    goal = LATENCY_GOAL.total_seconds()
    verdict = "within" if seconds <= goal else "OVER"
    measurements.append(
        f"rule firing in Prometheus -> incident visible in slakeeper ({what}, "
        f"{slakeeper.backend}): {seconds:.3f} s, {verdict} the goal of {goal:g} s "
        f"(group_wait {GROUP_WAIT.total_seconds():g} s + 1 s)"
    )


def _messages(
    contacts: WebhookReceiver, slakeeper: SlakeeperServer, contact: str, **fields: Any
) -> list[dict[str, Any]]:
    return contact_messages(
        contacts, f"{contacts_path('main', slakeeper.backend)}/{contact}", **fields
    )


def _wait_for_messages(
    contacts: WebhookReceiver, slakeeper: SlakeeperServer, contact: str, incident_id: int
) -> list[dict[str, Any]]:
    return wait_until(
        lambda: _messages(contacts, slakeeper, contact, incident_id=incident_id),
        what=f"{contact} to be told of incident {incident_id}",
    )


@pytest.mark.e2e
def test_a_warning_opens_a_p3_incident_and_notifies_the_on_duty_engineer(
    slakeeper: SlakeeperServer,
    prometheus: Prometheus,
    error_ratio: Callable[..., ErrorRatio],
    contacts: WebhookReceiver,
    measurements: list[str],
) -> None:
    ratio = error_ratio()
    ratio.set(BETWEEN)

    incident, seen_at = _incident_visible(slakeeper, ratio.service, "P3")
    fired_at = ratio.active_at("warning")
    _measure(measurements, "a warning opens", slakeeper, (seen_at - fired_at).total_seconds())

    assert incident["level"] == "warning"
    assert incident["state"] == "open"
    assert incident["source"] == "alert"
    assert incident["impact"] == "none"
    assert incident["alert_count"] == 1
    alert = one(ratio.alerts_in(slakeeper, "warning"), "warning instance")
    assert alert["incident_id"] == incident["id"]
    assert alert["source"] == "alertmanager"
    assert alert["status"] == "firing"
    # Prometheus sends times to Alertmanager at millisecond precision.
    assert abs(parse_time(alert["starts_at"]) - fired_at) < timedelta(milliseconds=1)
    assert ratio.alerts_in(slakeeper, "critical") == []
    assert prometheus.query(f"ALERTS{{{ratio.promql('critical')}}}") == []

    opened = _wait_for_messages(contacts, slakeeper, "on-duty", incident["id"])
    assert [message["reason"] for message in opened] == ["opened"]
    assert opened[0]["incident"]["priority"] == "P3"
    for contact in ("lead", "experts"):
        assert _messages(contacts, slakeeper, contact, incident_id=incident["id"]) == []


@pytest.mark.e2e
def test_the_critical_raises_the_same_incident_and_recovery_resolves_it_with_the_critical_span_as_outage(  # noqa: E501
    slakeeper: SlakeeperServer,
    prometheus: Prometheus,
    error_ratio: Callable[..., ErrorRatio],
    contacts: WebhookReceiver,
    measurements: list[str],
) -> None:
    period_start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    ratio = error_ratio()
    ratio.set(BETWEEN)
    warning, _ = _incident_visible(slakeeper, ratio.service, "P3")

    ratio.set(ABOVE)
    raised, seen_at = _incident_visible(slakeeper, ratio.service, "P2")
    fired_at = ratio.active_at("critical")
    _measure(measurements, "a critical raises", slakeeper, (seen_at - fired_at).total_seconds())
    assert raised["id"] == warning["id"], "the critical joins the warning's incident"
    assert raised["level"] == "critical"
    assert raised["impact"] == "outage"
    assert len(slakeeper.incidents(service=ratio.service)) == 1
    timeline = slakeeper.incident(raised["id"])["timeline"]
    (raise_event,) = [event for event in timeline if event["kind"] == "raised"]
    assert raise_event["before"]["priority"] == "P3"
    assert raise_event["after"]["priority"] == "P2"
    for contact in ("lead", "experts"):
        told = _wait_for_messages(contacts, slakeeper, contact, raised["id"])
        assert [message["reason"] for message in told] == ["raised"]
        assert told[0]["incident"]["priority"] == "P2"

    # Back under the critical threshold: the critical alert ends, the warning goes on.
    ratio.set(BETWEEN)
    critical = wait_until(
        lambda: ratio.alerts_in(slakeeper, "critical", status="resolved"),
        what=f"the critical alert of {ratio.service} to resolve in slakeeper",
    )
    assert slakeeper.incident(raised["id"])["state"] == "open", "the warning still fires"

    ratio.clear()
    resolved = wait_until(
        lambda: (found := slakeeper.incident(raised["id"]))["state"] == "resolved" and found,
        what=f"incident {raised['id']} to resolve by itself",
    )
    (critical_instance,) = critical
    warning_instance = one(ratio.alerts_in(slakeeper, "warning"), "warning instance")
    assert warning_instance["status"] == "resolved"
    assert resolved["resolved_at"] == warning_instance["ends_at"], "resolved when the last ended"
    assert resolved["priority"] == "P2", "nothing lowers an incident by itself"

    figures = slakeeper.availability(ratio.service, period_start, datetime.now(UTC))
    critical_span = span_seconds(critical_instance)
    assert critical_span > 0
    assert figures["downtime_seconds"] == pytest.approx(critical_span, abs=1e-3)
    assert figures["maintenance_seconds"] == 0
    assert figures["availability_ratio"] < 1

    # Prometheus' own record: ALERTS fired at every evaluation from activeAt until the one
    # before the alert resolved (evaluations are 1 s apart).
    evaluations = prometheus.firing_samples(ratio.promql("critical"))
    assert evaluations, "Prometheus has no ALERTS samples of the critical alert"
    starts_at = parse_time(critical_instance["starts_at"]).timestamp()
    assert evaluations[0] == pytest.approx(starts_at, abs=1e-3)
    prometheus_span = evaluations[-1] + 1 - evaluations[0]
    assert figures["downtime_seconds"] == pytest.approx(prometheus_span, abs=1.0), (
        "the outage window is the critical alert's span in Prometheus, to the second"
    )
    assert prometheus.query(f"ALERTS{{{ratio.promql('warning')}}}") == []
