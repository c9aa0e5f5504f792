"""The persistent notification outbox: enqueue in the transaction that decides, send later.

Sending is at-least-once. A sender claims due messages by leasing them (moving their next
attempt past the lease) and commits, delivers them with no transaction open, then records
each attempt (`oncall.delivery` does the delivering). A sender that dies between claim and
record leaves its messages to be claimed again when the lease runs out; every request carries
the message's `Idempotency-Key` so a receiver can drop the rare duplicate. A failed attempt
is retried with exponential back-off, without limit: nothing is dropped, and every failure
is counted.

A message goes to a contact, on each of the contact's channels; it is done when every channel
took it, and a retry goes only to the channels that have not. The messages of one incident to
one contact are delivered in the order they were queued: one is claimed only when no earlier
one of its incident and contact is still pending, so an escalation never overtakes its own
`opened`, even after a failure.
"""

from __future__ import annotations

import typing
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Table, exists, insert, select, update
from sqlalchemy.orm import Session, aliased

from core.counters import CounterKey, add_to_counters, counter_key
from core.database import insert_many
from incident.models import Notification, NotificationAttempt

__all__ = [
    "LEASE",
    "NOTIFICATIONS_FAILED",
    "Attempt",
    "Claimed",
    "OutboxState",
    "QueuedNotification",
    "claim_due",
    "enqueue_notification",
    "enqueue_notifications",
    "record_attempts",
    "retry_delay",
]

NOTIFICATIONS_FAILED = "slakeeper_notifications_failed_total"
# How long a claimed message is the claimer's: its delivery must end well within it, or another
# sender could claim and deliver it again.
LEASE = timedelta(seconds=120)
_FIRST_RETRY = timedelta(seconds=10)
_LONGEST_RETRY = timedelta(hours=1)


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
class Claimed:
    """A message claimed for delivery, and the channels that took it on earlier attempts."""

    id: int
    dedupe_key: str
    incident_id: int | None
    contact: str
    reason: str
    payload: dict[str, Any]
    attempts: int
    channels_done: tuple[str, ...]


def claim_due(session: Session, *, now: datetime, limit: int) -> list[Claimed]:
    """Lease up to `limit` messages due at `now`, each the oldest pending one of its incident
    and contact, oldest first."""
    earlier = aliased(Notification)
    waits = exists().where(
        earlier.incident_id == Notification.incident_id,
        earlier.contact == Notification.contact,
        earlier.state == OutboxState.PENDING.value,
        earlier.id < Notification.id,
    )
    query = (
        select(
            Notification.id,
            Notification.dedupe_key,
            Notification.incident_id,
            Notification.contact,
            Notification.reason,
            Notification.payload,
            Notification.attempts,
            Notification.channels_done,
        )
        .where(Notification.state == OutboxState.PENDING.value)
        .where(Notification.next_attempt_at <= now)
        .where(~waits)
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Two replicas' senders never claim the same message.
        query = query.with_for_update(skip_locked=True, of=Notification)
    claimed = [
        Claimed(id_, key, incident, contact, reason, payload, attempts, tuple(done or ()))
        for id_, key, incident, contact, reason, payload, attempts, done in session.execute(query)
    ]
    if claimed:
        session.execute(
            update(Notification)
            .where(Notification.id.in_([message.id for message in claimed]))
            .values(next_attempt_at=now + LEASE)
        )
    return claimed


@dataclass(frozen=True, slots=True)
class Attempt:
    """How delivering one message on one channel went (`channel` "": the contact's own
    webhook; None: no channel was tried, the message could not go); `ok` False is retried."""

    notification_id: int
    contact: str
    channel: str | None
    person: str | None
    ok: bool
    status_code: int | None
    error: str | None
    duration_seconds: float


def record_attempts(
    session: Session,
    claimed: Sequence[Claimed],
    attempts: Sequence[Attempt],
    *,
    recorded_only: Sequence[int] = (),
    now: datetime,
) -> None:
    """Store `attempts`; a message whose channels all took it is sent (or `recorded`, in
    `recorded_only`: it had no channel), one with a failure waits for its next attempt."""
    if attempts:
        session.execute(
            insert(NotificationAttempt),
            [
                {
                    "notification_id": attempt.notification_id,
                    "at": now,
                    "status_code": attempt.status_code,
                    "error": attempt.error,
                    "duration_seconds": attempt.duration_seconds,
                    "channel": attempt.channel or None,
                    "person": attempt.person,
                }
                for attempt in attempts
            ],
        )
    failures: Counter[CounterKey] = Counter()
    by_message: dict[int, list[Attempt]] = {}
    for attempt in attempts:
        by_message.setdefault(attempt.notification_id, []).append(attempt)
        if not attempt.ok:
            failures[counter_key(NOTIFICATIONS_FAILED, contact=attempt.contact)] += 1
    for message in claimed:
        tried = by_message.get(message.id, [])
        done = [*message.channels_done, *(a.channel or "" for a in tried if a.ok)]
        errors = [a.error for a in tried if not a.ok]
        values: dict[str, Any] = {
            "attempts": message.attempts + 1,
            "channels_done": list(dict.fromkeys(done)),
            "last_error": "; ".join(e for e in errors if e) or None,
        }
        if errors:
            values["next_attempt_at"] = now + retry_delay(message.attempts + 1)
        else:
            recorded = message.id in recorded_only
            values["state"] = (OutboxState.RECORDED if recorded else OutboxState.SENT).value
            values["sent_at"] = now
        session.execute(update(Notification).where(Notification.id == message.id).values(values))
    add_to_counters(session, failures)
