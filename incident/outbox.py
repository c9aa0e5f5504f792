"""The persistent notification outbox: enqueue in the transaction that decides, send later.

Sending is at-least-once. A sender claims due messages by leasing them (moving their next
attempt past the lease) and commits, posts them with no transaction open, then records each
attempt. A sender that dies between claim and record leaves its messages to be claimed
again when the lease runs out; every request carries the message's `Idempotency-Key` so a
receiver can drop the rare duplicate. A failed attempt is retried with exponential back-off,
without limit: nothing is dropped, and every failure is counted.
"""

from __future__ import annotations

import time
import typing
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import httpx
from sqlalchemy import Engine, Table, insert, select, update
from sqlalchemy.orm import Session

from core.counters import CounterKey, add_to_counters, counter_key
from core.database import insert_many, writing_session
from incident.models import Notification, NotificationAttempt
from rules.schema import ContactSpec

__all__ = [
    "NOTIFICATIONS_FAILED",
    "Delivered",
    "OutboxState",
    "QueuedNotification",
    "enqueue_notification",
    "enqueue_notifications",
    "retry_delay",
    "send_due_notifications",
]

NOTIFICATIONS_FAILED = "slakeeper_notifications_failed_total"
LEASE = timedelta(seconds=60)
_FIRST_RETRY = timedelta(seconds=10)
_LONGEST_RETRY = timedelta(hours=1)
_TIMEOUT = httpx.Timeout(10.0)


class OutboxState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    RECORDED = "recorded"  # the contact has no webhook: kept, not sent


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt: 10 s, doubling, at most 1 h."""
    doublings = min(max(0, attempts - 1), 20)  # bounded: timedelta overflows far sooner
    return min(_FIRST_RETRY * (1 << doublings), _LONGEST_RETRY)


def enqueue_notification(
    session: Session,
    *,
    dedupe_key: str,
    incident_id: int | None,
    contact: str,
    reason: str,
    payload: Mapping[str, Any],
    now: datetime,
) -> None:
    """Add a message to the outbox in the caller's transaction; a known `dedupe_key` is kept."""
    message = QueuedNotification(dedupe_key, incident_id, contact, reason, payload)
    enqueue_notifications(session, [message], now=now)


@dataclass(frozen=True, slots=True)
class QueuedNotification:
    """A message to add to the outbox."""

    dedupe_key: str
    incident_id: int | None
    contact: str
    reason: str
    payload: Mapping[str, Any]


def enqueue_notifications(
    session: Session, messages: Sequence[QueuedNotification], *, now: datetime
) -> None:
    """`enqueue_notification` for many messages, in one statement."""
    if not messages:
        return
    insert_many(
        session,
        typing.cast(Table, Notification.__table__),
        [
            {
                "dedupe_key": message.dedupe_key,
                "incident_id": message.incident_id,
                "contact": message.contact,
                "reason": message.reason,
                "payload": dict(message.payload),
                "state": OutboxState.PENDING.value,
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": now,
            }
            for message in messages
        ],
        skip_conflicts_on=["dedupe_key"],
    )


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: int
    dedupe_key: str
    contact: str
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True, slots=True)
class Delivered:
    """How one attempt went: an HTTP status, or the error that stopped it."""

    notification_id: int
    contact: str
    state: OutboxState | None  # None: failed, to be retried
    status_code: int | None
    error: str | None
    duration_seconds: float
    attempts: int


def send_due_notifications(
    engine: Engine,
    *,
    contacts: Mapping[str, ContactSpec],
    client: httpx.Client,
    now: datetime,
    limit: int = 50,
) -> list[Delivered]:
    """Send the messages due at `now` (at most `limit`) and record how each went."""
    with writing_session(engine) as session:
        claimed = _claim(session, now=now, limit=limit)
    results = [_deliver(client, contacts.get(message.contact), message) for message in claimed]
    if results:
        with writing_session(engine) as session:
            _record(session, results, now=now)
    return results


def _claim(session: Session, *, now: datetime, limit: int) -> list[_Claimed]:
    query = (
        select(
            Notification.id,
            Notification.dedupe_key,
            Notification.contact,
            Notification.payload,
            Notification.attempts,
        )
        .where(Notification.state == OutboxState.PENDING.value)
        .where(Notification.next_attempt_at <= now)
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Two replicas' senders never claim the same message.
        query = query.with_for_update(skip_locked=True)
    claimed = [_Claimed(*row) for row in session.execute(query)]
    if claimed:
        session.execute(
            update(Notification)
            .where(Notification.id.in_([message.id for message in claimed]))
            .values(next_attempt_at=now + LEASE)
        )
    return claimed


def _deliver(client: httpx.Client, contact: ContactSpec | None, message: _Claimed) -> Delivered:
    attempts = message.attempts + 1

    def outcome(state: OutboxState | None, status: int | None, error: str | None) -> Delivered:
        elapsed = time.perf_counter() - started
        return Delivered(message.id, message.contact, state, status, error, elapsed, attempts)

    started = time.perf_counter()
    if contact is None:
        return outcome(None, None, f"contact {message.contact!r} is not in the rule file")
    if contact.webhook is None:
        return outcome(OutboxState.RECORDED, None, None)
    headers = {**contact.headers, "Idempotency-Key": message.dedupe_key}
    try:
        response = client.post(contact.webhook, json=message.payload, headers=headers)
    except httpx.HTTPError as error:
        # The exception's text, never the URL: a webhook URL may carry a secret.
        return outcome(None, None, f"{type(error).__name__}: {error}"[:500])
    if response.is_success:
        return outcome(OutboxState.SENT, response.status_code, None)
    return outcome(
        None, response.status_code, f"HTTP {response.status_code}: {response.text[:200]}"
    )


def _record(session: Session, results: Sequence[Delivered], *, now: datetime) -> None:
    session.execute(
        insert(NotificationAttempt),
        [
            {
                "notification_id": result.notification_id,
                "at": now,
                "status_code": result.status_code,
                "error": result.error,
                "duration_seconds": result.duration_seconds,
            }
            for result in results
        ],
    )
    failures: Counter[CounterKey] = Counter()
    for result in results:
        values: dict[str, Any] = {"attempts": result.attempts, "last_error": result.error}
        if result.state is None:
            values["next_attempt_at"] = now + retry_delay(result.attempts)
            failures[counter_key(NOTIFICATIONS_FAILED, contact=result.contact)] += 1
        else:
            values["state"] = result.state.value
            values["sent_at"] = now
        session.execute(
            update(Notification).where(Notification.id == result.notification_id).values(values)
        )
    add_to_counters(session, failures)
