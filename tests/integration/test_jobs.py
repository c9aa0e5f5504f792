"""The scheduled jobs as plain functions of (session, now), driven with a fixed clock on real
SQLite and PostgreSQL: escalation steps, breaches that time alone causes, and the sender."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import Engine, select, update

from core.counters import read_counters
from core.database import create_database_engine, writing_session
from incident.jobs import (
    Batch,
    detect_breaches,
    escalate,
    fire_step,
    run_sla_checks,
)
from incident.models import (
    EscalationFiring,
    Incident,
    IncidentEvent,
    Notification,
    NotificationAttempt,
)
from incident.opening import NewIncident, open_incident
from incident.store import SYSTEM
from oncall.delivery import Transport
from oncall.jobs import run_sender
from rules.loader import parse_rule_text
from rules.policy import RuleFile
from tests.integration.receiver import WebhookReceiver

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Friday 20 November 2026, 17:00 in Shanghai: one business hour left before the weekend.
FRIDAY_17H = datetime(2026, 11, 20, 17, 0, tzinfo=SHANGHAI).astimezone(UTC)
T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)

RULES_TEMPLATE = """
timezone: Asia/Shanghai
business_calendar: business
defaults: {level: warning, priority: P4}
levels:
  warning: {notify: [on-duty]}
  critical: {notify: [on-duty, lead]}
priorities:
  P1: {respond: 1h, resolve: 24h}
  P4: {respond: 4h, resolve: 5bd, calendar: business}
calendars:
  business: {weekdays: [mon, tue, wed, thu, fri], hours: '09:00-18:00'}
escalation:
  P1:
    - {after: 10m, notify: manager1}
    - {after: 1h, notify: [manager2, vendor]}
  P4:
    - {after: 24h, notify: manager1, unless: acknowledged}
    - {after: 48h, notify: vendor}
contacts:
  on-duty: {webhook: '%(url)s/on-duty'}
  lead: {webhook: '%(url)s/lead'}
  manager1: {webhook: '%(url)s/manager1'}
  manager2: {webhook: '%(url)s/manager2'}
  vendor: {webhook: '%(url)s/vendor'}
"""


def rule_file(url: str = "http://127.0.0.1:9") -> RuleFile:
    return parse_rule_text(RULES_TEMPLATE % {"url": url})


RULES = rule_file()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_database_engine(database_url)
    yield engine
    engine.dispose()


def open_at(
    engine: Engine, when: datetime, *, priority: str = "P1", rules: RuleFile = RULES
) -> int:
    level = "critical" if priority == "P1" else "warning"
    new = NewIncident(
        title=f"{priority} payments trouble",
        service="payments",
        priority=priority,
        level=level,
        category="software",
        impact="outage",
        source="manual",
        started_at=when,
    )
    with writing_session(engine) as session:
        return open_incident(session, new, rules=rules, actor="noc", now=when).id


def change(engine: Engine, incident_id: int, **values: Any) -> None:
    with writing_session(engine) as session:
        session.execute(update(Incident).where(Incident.id == incident_id).values(**values))


def run(engine: Engine, job: Any, now: datetime, rules: RuleFile = RULES) -> Batch:
    with writing_session(engine) as session:
        batch: Batch = job(session, rules=rules, now=now)
    return batch


def fired(engine: Engine) -> list[tuple[int, str, int, datetime]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                EscalationFiring.incident_id,
                EscalationFiring.priority,
                EscalationFiring.step_index,
                EscalationFiring.fired_at,
            ).order_by(EscalationFiring.id)
        )
        return [(row[0], row[1], row[2], row[3]) for row in rows]


def events(engine: Engine, kind: str) -> list[Any]:
    with engine.connect() as connection:
        query = select(IncidentEvent).where(IncidentEvent.kind == kind).order_by(IncidentEvent.id)
        return list(connection.execute(query))


def messages(engine: Engine, reason: str) -> list[Any]:
    with engine.connect() as connection:
        query = select(Notification).where(Notification.reason == reason)
        return list(connection.execute(query.order_by(Notification.id)))


def counter(engine: Engine, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    with writing_session(engine) as session:
        stored = read_counters(session).get(name, [])
    return {tuple(sorted(labels.items())): value for labels, value in stored}


def escalation_counts(engine: Engine) -> dict[tuple[str, str], float]:
    return {
        (dict(labels)["priority"], dict(labels)["step"]): value
        for labels, value in counter(engine, "slakeeper_escalations_total").items()
    }


# Escalation


def test_a_due_step_fires_once_even_when_the_job_runs_again(engine: Engine) -> None:
    incident = open_at(engine, T0)
    assert run(engine, escalate, T0 + timedelta(minutes=9, seconds=59)).changed == 0
    assert run(engine, escalate, T0 + timedelta(minutes=10)).changed == 1
    assert run(engine, escalate, T0 + timedelta(minutes=10)).changed == 0
    assert run(engine, escalate, T0 + timedelta(minutes=59)).changed == 0
    assert fired(engine) == [(incident, "P1", 0, T0 + timedelta(minutes=10))]
    [event] = events(engine, "escalated")
    assert (event.incident_id, event.at, event.actor) == (
        incident,
        T0 + timedelta(minutes=10),
        SYSTEM,
    )
    assert event.after == {"step": 1, "notify": ["manager1"]}
    [message] = messages(engine, "escalation")
    assert (message.contact, message.incident_id) == ("manager1", incident)
    assert message.payload["reason"] == "escalation"
    assert message.payload["incident"]["id"] == incident
    assert message.payload["details"]["step"] == 1
    assert escalation_counts(engine) == {("P1", "1"): 1}


def test_later_steps_fire_at_their_own_time_and_notify_each_of_their_contacts(
    engine: Engine,
) -> None:
    incident = open_at(engine, T0)
    # A job that did not run for two hours catches up with both steps at once.
    assert run(engine, escalate, T0 + timedelta(hours=2)).changed == 2
    assert [step for _, _, step, _ in fired(engine)] == [0, 1]
    assert sorted(m.contact for m in messages(engine, "escalation")) == [
        "manager1",
        "manager2",
        "vendor",
    ]
    assert [e.after["step"] for e in events(engine, "escalated")] == [1, 2]
    assert {m.incident_id for m in messages(engine, "escalation")} == {incident}
    assert escalation_counts(engine) == {("P1", "1"): 1, ("P1", "2"): 1}
    # One numbering everywhere: the Idempotency-Key (the message's dedupe key) and its
    # details count steps from 1, as the timeline and the metric do.
    assert sorted(
        (m.dedupe_key, m.payload["details"]["step"]) for m in messages(engine, "escalation")
    ) == [
        (f"incident/{incident}/escalation/P1/step-1/manager1", 1),
        (f"incident/{incident}/escalation/P1/step-2/manager2", 2),
        (f"incident/{incident}/escalation/P1/step-2/vendor", 2),
    ]


def test_a_step_fired_by_another_replica_is_not_fired_again(engine: Engine) -> None:
    incident_id = open_at(engine, T0)
    step = RULES.escalation["P1"][0]
    now = T0 + timedelta(minutes=10)
    # Both replicas found the step due; the first fires it...
    with writing_session(engine) as first:
        incident = first.get_one(Incident, incident_id)
        assert fire_step(first, incident, step=step, now=now) is True
    with writing_session(engine) as second:  # ...and the second acts on what it had seen
        incident = second.get_one(Incident, incident_id)
        assert fire_step(second, incident, step=step, now=now + timedelta(seconds=1)) is False
    assert len(fired(engine)) == 1
    assert len(events(engine, "escalated")) == 1
    assert [m.contact for m in messages(engine, "escalation")] == ["manager1"]
    assert escalation_counts(engine) == {("P1", "1"): 1}


def test_concurrent_escalation_jobs_at_the_same_time_fire_each_step_once(
    database_url: str,
) -> None:
    setup = create_database_engine(database_url)
    incidents = [open_at(setup, T0) for _ in range(30)]
    now = T0 + timedelta(hours=2)
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def replica() -> None:
        own = create_database_engine(database_url)  # one engine per "process"
        try:
            start.wait()
            run_sla_checks(own, rules=lambda: RULES, clock=lambda: now, limit=7)
        except BaseException as error:  # reported by the assertion below
            errors.append(error)
        finally:
            own.dispose()

    threads = [threading.Thread(target=replica) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(fired(setup)) == 2 * len(incidents)
    assert len(events(setup, "escalated")) == 2 * len(incidents)
    per_contact = [(m.incident_id, m.contact) for m in messages(setup, "escalation")]
    assert sorted(per_contact) == sorted(
        (incident, contact)
        for incident in incidents
        for contact in ("manager1", "manager2", "vendor")
    )
    assert escalation_counts(setup) == {("P1", "1"): 30, ("P1", "2"): 30}
    assert len(events(setup, "breach")) == len(incidents)  # the response target, 1 h
    setup.dispose()


def test_acknowledging_stops_a_step_that_applies_unless_acknowledged(engine: Engine) -> None:
    incident = open_at(engine, T0, priority="P4")
    change(
        engine,
        incident,
        state="acknowledged",
        acknowledged_at=T0 + timedelta(minutes=5),
        acknowledged_by="noc",
    )
    assert run(engine, escalate, T0 + timedelta(weeks=3)).changed == 1
    assert [step for _, _, step, _ in fired(engine)] == [1]
    assert [m.contact for m in messages(engine, "escalation")] == ["vendor"]


def test_a_resolved_incident_does_not_escalate(engine: Engine) -> None:
    incident = open_at(engine, T0)
    change(engine, incident, state="resolved", resolved_at=T0 + timedelta(minutes=5))
    assert run(engine, escalate, T0 + timedelta(days=3)).examined == 0
    assert fired(engine) == []


def test_a_step_on_business_time_opened_on_friday_evening_is_due_the_next_week(
    engine: Engine,
) -> None:
    # 24 business hours from Friday 17:00: 1 h on Friday, 9 h each on Monday and Tuesday,
    # and the last 5 h on Wednesday, 09:00-14:00.
    open_at(engine, FRIDAY_17H, priority="P4")
    wednesday_14h = datetime(2026, 11, 25, 14, 0, tzinfo=SHANGHAI).astimezone(UTC)
    assert run(engine, escalate, FRIDAY_17H + timedelta(hours=24)).changed == 0
    assert run(engine, escalate, wednesday_14h - timedelta(seconds=1)).changed == 0
    assert run(engine, escalate, wednesday_14h).changed == 1
    assert [m.contact for m in messages(engine, "escalation")] == ["manager1"]


def test_a_raised_priority_escalates_along_the_new_priority_s_steps(engine: Engine) -> None:
    incident = open_at(engine, FRIDAY_17H, priority="P4")
    wednesday_14h = datetime(2026, 11, 25, 14, 0, tzinfo=SHANGHAI).astimezone(UTC)
    assert run(engine, escalate, wednesday_14h).changed == 1
    change(engine, incident, priority="P1")
    assert run(engine, escalate, wednesday_14h).changed == 2
    assert [(priority, step) for _, priority, step, _ in fired(engine)] == [
        ("P4", 0),
        ("P1", 0),
        ("P1", 1),
    ]


# Breaches


def test_a_response_breach_on_business_time_is_recorded_once_at_its_due_time(
    engine: Engine,
) -> None:
    # 4 business hours from Friday 17:00: 1 h on Friday, then Monday 09:00-12:00.
    incident = open_at(engine, FRIDAY_17H, priority="P4")
    monday_noon = datetime(2026, 11, 23, 12, 0, tzinfo=SHANGHAI).astimezone(UTC)
    assert run(engine, detect_breaches, monday_noon - timedelta(seconds=1)).changed == 0
    assert run(engine, detect_breaches, monday_noon + timedelta(minutes=7)).changed == 1
    assert run(engine, detect_breaches, monday_noon + timedelta(hours=1)).changed == 0
    [event] = events(engine, "breach")
    assert (event.incident_id, event.at) == (incident, monday_noon)
    assert event.after == {"response_breached": True}
    with engine.connect() as connection:
        row = connection.execute(select(Incident).where(Incident.id == incident)).one()
    assert (row.response_breached, row.resolution_breached) == (True, False)
    assert [m.contact for m in messages(engine, "breach")] == ["on-duty"]
    details = messages(engine, "breach")[0].payload["details"]
    assert details["kind"] == "response"
    assert datetime.fromisoformat(details["due_at"]) == monday_noon
    assert counter(engine, "slakeeper_sla_breaches_total") == {
        (("kind", "response"), ("priority", "P4"), ("service", "payments")): 1
    }


def test_an_incident_acknowledged_in_time_only_breaches_its_resolution_target(
    engine: Engine,
) -> None:
    # 5 business days of 9 h from Friday 17:00 end the next Friday at 17:00.
    incident = open_at(engine, FRIDAY_17H, priority="P4")
    change(
        engine,
        incident,
        state="acknowledged",
        acknowledged_at=FRIDAY_17H + timedelta(minutes=30),
        acknowledged_by="noc",
    )
    next_friday_17h = FRIDAY_17H + timedelta(weeks=1)
    assert run(engine, detect_breaches, next_friday_17h - timedelta(seconds=1)).examined == 0
    assert run(engine, detect_breaches, next_friday_17h).changed == 1
    assert run(engine, detect_breaches, next_friday_17h + timedelta(days=9)).examined == 0
    [event] = events(engine, "breach")
    assert (event.at, event.after) == (next_friday_17h, {"resolution_breached": True})


def test_one_pass_pages_through_more_incidents_than_one_transaction_takes(
    engine: Engine,
) -> None:
    for _ in range(7):
        open_at(engine, T0)
    result = run_sla_checks(
        engine, rules=lambda: RULES, clock=lambda: T0 + timedelta(hours=2), limit=3
    )
    assert result == (7, 14)
    assert len(events(engine, "breach")) == 7


# The sender


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


def test_the_sender_delivers_an_escalation_through_a_failing_contact_across_a_restart(
    database_url: str, receiver: WebhookReceiver
) -> None:
    rules = rule_file(receiver.url)
    first = create_database_engine(database_url)
    incident = open_at(first, T0, rules=rules)  # opened: to on-duty and lead
    now = T0 + timedelta(minutes=10)
    assert run(first, escalate, now, rules).changed == 1  # to manager1
    receiver.fail_next(200, 200, 503)  # sent oldest first: on-duty, lead, then manager1
    with httpx.Client(timeout=5) as client:
        assert (
            run_sender(first, rules=lambda: rules, transport=Transport(client), clock=lambda: now)
            == 3
        )
    first.dispose()  # the process stops; the failed message waits in the database

    second = create_database_engine(database_url)
    with httpx.Client(timeout=5) as client:
        early = now + timedelta(seconds=9)
        assert (
            run_sender(
                second, rules=lambda: rules, transport=Transport(client), clock=lambda: early
            )
            == 0
        )
        retry = now + timedelta(seconds=10)
        assert (
            run_sender(
                second, rules=lambda: rules, transport=Transport(client), clock=lambda: retry
            )
            == 1
        )
    paths = [request.path for request in receiver.received]
    assert paths == ["/on-duty", "/lead", "/manager1", "/manager1"]
    escalation = receiver.received[-1].body
    assert escalation["reason"] == "escalation"
    assert escalation["incident"]["id"] == incident
    assert escalation["details"]["step"] == 1
    with second.connect() as connection:
        assert set(connection.execute(select(Notification.state)).scalars()) == {"sent"}
        codes = connection.execute(
            select(NotificationAttempt.status_code).order_by(NotificationAttempt.id)
        ).scalars()
        assert list(codes) == [200, 200, 503, 200]
    assert counter(second, "slakeeper_notifications_failed_total") == {
        (("contact", "manager1"),): 1
    }
    second.dispose()


def test_the_sender_job_goes_on_until_fewer_than_a_batch_are_due(
    engine: Engine, receiver: WebhookReceiver
) -> None:
    rules = rule_file(receiver.url)
    for _ in range(6):
        open_at(engine, T0, rules=rules)  # two messages each
    with httpx.Client(timeout=5) as client:
        sent = run_sender(
            engine, rules=lambda: rules, transport=Transport(client), clock=lambda: T0, limit=5
        )
    assert sent == 12
    assert len(receiver.received) == 12
