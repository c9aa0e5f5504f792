"""Escalation end to end, on the shortened policy of the e2e rule file: an alert labelled
`escalation="fast"` opens a P1 incident, whose first step (manager1) is due 10 s after it
opened. The fleet's `sla` job runs every `SLA_INTERVAL` (1 s, `configs.sla_job_settings`),
so "on time" means: not before the step is due, and no later than one job interval (and a
little slack) after it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from tests.e2e.clients import Prometheus, SlakeeperServer
from tests.e2e.configs import ESCALATION_STEP, SLA_INTERVAL, WARNING_RATIO, contacts_path
from tests.e2e.loopback import contact_messages
from tests.e2e.scenario import ErrorRatio, one
from tests.e2e.support import parse_time, wait_until
from tests.integration.receiver import WebhookReceiver

SLACK = timedelta(seconds=1)
"""A job run is not instantaneous, and the server is busy with other tests' alerts."""


@pytest.mark.e2e
@pytest.mark.timeout(180)
def test_an_escalation_step_fires_on_time_and_notifies_its_contact(
    slakeeper: SlakeeperServer,
    prometheus: Prometheus,
    error_ratio: Callable[..., ErrorRatio],
    contacts: WebhookReceiver,
    measurements: list[str],
) -> None:
    ratio = error_ratio(escalation="fast")
    ratio.set(WARNING_RATIO * 2)
    incident = wait_until(
        lambda: slakeeper.incidents(service=ratio.service),
        what=f"the P1 incident of {ratio.service} to open",
    )[0]
    assert incident["priority"] == "P1"
    opened_at = parse_time(incident["opened_at"])
    due_at = opened_at + ESCALATION_STEP
    inbox = f"{contacts_path('main', slakeeper.backend)}/manager1"

    timeout = (ESCALATION_STEP + SLA_INTERVAL + SLACK + timedelta(seconds=10)).total_seconds()
    messages: list[dict[str, Any]] = wait_until(
        lambda: contact_messages(contacts, inbox, incident_id=incident["id"]),
        timeout=timeout,
        what=f"manager1 to be told that incident {incident['id']} escalated",
    )

    message = one(messages, "message to manager1")
    assert message["reason"] == "escalation"
    assert message["details"]["step"] == 1
    assert parse_time(message["details"]["due_at"]) == due_at
    timeline = slakeeper.incident(incident["id"])["timeline"]
    escalated = one([e for e in timeline if e["kind"] == "escalated"], "escalated event")
    assert escalated["after"] == {"step": 1, "notify": ["manager1"]}
    fired_at = parse_time(escalated["at"])
    measurements.append(
        f"escalation step due -> fired ({slakeeper.backend}): "
        f"{(fired_at - due_at).total_seconds():.3f} s late (SLA job every "
        f"{SLA_INTERVAL.total_seconds():g} s, slack {SLACK.total_seconds():g} s)"
    )
    assert due_at <= fired_at <= due_at + SLA_INTERVAL + SLACK, (
        f"step due at {due_at} fired at {fired_at}"
    )
    manager2 = f"{contacts_path('main', slakeeper.backend)}/manager2"
    assert contact_messages(contacts, manager2, incident_id=incident["id"]) == []

    # The step applied because the outage was still going on: Prometheus still fires it.
    assert prometheus.active_alert(ratio.alert_labels("warning")) is not None
    assert slakeeper.incident(incident["id"])["state"] == "open"
