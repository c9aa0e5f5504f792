"""The notification outbox on real databases, sending to a real HTTP receiver on loopback."""

from __future__ import annotations

import textwrap
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select, text

from core.counters import read_counters
from core.database import create_database_engine, writing_session
from incident.models import Notification, NotificationAttempt
from incident.outbox import LEASE, claim_due, enqueue_notification, retry_delay
from oncall.delivery import Transport, send_due
from rules.loader import parse_rule_text
from rules.policy import RuleFile
from tests.integration.receiver import WebhookReceiver

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_database_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


def contacts(receiver: WebhookReceiver) -> RuleFile:
    return book(
        f"""
        on-duty: {{webhook: '{receiver.url}/on-duty', headers: {{Authorization: Bearer x}}}}
        lead: {{webhook: '{receiver.url}/lead'}}
        pager-less: {{}}
        """
    )


def book(contacts_yaml: str) -> RuleFile:
    """A rule file with these contacts (YAML)."""
    return parse_rule_text("contacts:\n" + textwrap.indent(textwrap.dedent(contacts_yaml), "  "))


def send(
    engine: Engine, rules: RuleFile, client: httpx.Client, at: datetime, limit: int = 50
) -> list[Any]:
    """What each message's delivery did: True sent, False failed, None recorded."""
    done = send_due(engine, rules=rules, transport=Transport(client), now=at, limit=limit)
    outcomes: dict[int, Any] = {}
    for attempt in done.attempts:
        outcomes[attempt.notification_id] = (
            outcomes.get(attempt.notification_id, True) and attempt.ok
        )
    return [outcomes.get(n) for n in sorted({*outcomes})] + [None] * (done.messages - len(outcomes))


def enqueue(engine: Engine, key: str, contact: str = "on-duty", at: datetime = NOW) -> None:
    with writing_session(engine) as session:
        enqueue_notification(
            session,
            dedupe_key=key,
            incident_id=None,
            contact=contact,
            reason="opened",
            payload={"incident": key, "text": "payments is down"},
            now=at,
        )


def rows(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(select(Notification).order_by(Notification.id)))


def failures(engine: Engine) -> dict[str, float]:
    with writing_session(engine) as session:
        counters = read_counters(session)
    return {
        labels["contact"]: value
        for labels, value in counters.get("slakeeper_notifications_failed_total", [])
    }


def test_retry_delays_double_from_ten_seconds_up_to_an_hour() -> None:
    delays = [retry_delay(n).total_seconds() for n in (1, 2, 3, 4, 9, 10, 500)]
    assert delays == [10, 20, 40, 80, 2560, 3600, 3600]


def test_a_message_enqueued_twice_is_stored_once(engine: Engine) -> None:
    enqueue(engine, "incident:1:opened:on-duty")
    enqueue(engine, "incident:1:opened:on-duty")
    assert len(rows(engine)) == 1


def test_a_due_message_is_posted_with_its_headers_and_marked_sent(
    engine: Engine, receiver: WebhookReceiver, client: httpx.Client
) -> None:
    enqueue(engine, "k1")
    assert send(engine, contacts(receiver), client, NOW) == [True]
    [request] = receiver.received
    assert request.path == "/on-duty"
    # The queued JSON as it was; beside it the message's words, the reader and the links.
    assert {k: request.body[k] for k in ("incident", "text")} == {
        "incident": "k1",
        "text": "payments is down",
    }
    assert request.body["person"] is None and "title" in request.body
    assert request.headers["Authorization"] == "Bearer x"
    assert request.headers["Idempotency-Key"] == "k1"
    [row] = rows(engine)
    assert (row.state, row.attempts, row.sent_at) == ("sent", 1, NOW)
    assert send(engine, contacts(receiver), client, NOW) == []


def test_a_failing_contact_is_retried_with_back_off_until_it_recovers(
    engine: Engine, receiver: WebhookReceiver, client: httpx.Client
) -> None:
    enqueue(engine, "k1", contact="lead")
    receiver.fail_next(500, 503)
    rules = contacts(receiver)

    def attempt(at: datetime) -> list[Any]:
        return send(engine, rules, client, at)

    assert attempt(NOW) == [False]
    assert rows(engine)[0].next_attempt_at == NOW + timedelta(seconds=10)
    assert attempt(NOW + timedelta(seconds=9)) == []  # not due yet
    assert attempt(NOW + timedelta(seconds=10)) == [False]
    assert rows(engine)[0].next_attempt_at == NOW + timedelta(seconds=30)
    assert attempt(NOW + timedelta(seconds=30)) == [True]
    assert len(receiver.received) == 3
    assert failures(engine) == {"lead": 2}
    with engine.connect() as connection:
        attempts = connection.execute(
            select(NotificationAttempt.status_code).order_by(NotificationAttempt.id)
        ).scalars()
        assert list(attempts) == [500, 503, 200]


def test_an_unreachable_contact_keeps_the_message_and_counts_the_failure(
    engine: Engine, client: httpx.Client, free_port: Any
) -> None:
    enqueue(engine, "k1")
    rules = book(f"on-duty: {{webhook: 'http://127.0.0.1:{free_port()}/hook?token=s3cret'}}")
    done = send_due(engine, rules=rules, transport=Transport(client), now=NOW, limit=5)
    [result] = done.attempts
    assert not result.ok and result.error is not None
    assert "s3cret" not in result.error
    [row] = rows(engine)
    assert (row.state, row.attempts) == ("pending", 1)
    assert failures(engine) == {"on-duty": 1}


def test_a_contact_without_a_webhook_has_its_message_recorded_not_sent(
    engine: Engine, receiver: WebhookReceiver, client: httpx.Client
) -> None:
    enqueue(engine, "k1", contact="pager-less")
    assert send(engine, contacts(receiver), client, NOW) == [None]
    assert receiver.received == []
    assert rows(engine)[0].state == "recorded"


def test_a_sender_that_dies_after_claiming_leaves_the_message_to_be_sent_later(
    engine: Engine, receiver: WebhookReceiver, client: httpx.Client
) -> None:
    enqueue(engine, "k1")
    with writing_session(engine) as session:
        assert len(claim_due(session, now=NOW, limit=10)) == 1  # ... and then the process dies
    rules = contacts(receiver)
    assert send(engine, rules, client, NOW) == []
    assert send(engine, rules, client, NOW + LEASE) == [True]


def test_two_concurrent_senders_send_each_message_once(
    engine: Engine, receiver: WebhookReceiver
) -> None:
    for n in range(40):
        enqueue(engine, f"k{n}")
    rules = contacts(receiver)
    start = threading.Barrier(2)

    def sender() -> None:
        with httpx.Client(timeout=5) as client:
            start.wait()
            while send(engine, rules, client, NOW, limit=5):
                pass

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    keys = [request.headers["Idempotency-Key"] for request in receiver.received]
    assert sorted(keys) == sorted(f"k{n}" for n in range(40))
    with engine.connect() as connection:
        sent = connection.execute(text("SELECT count(*) FROM notifications WHERE state = 'sent'"))
        assert sent.scalar() == 40
