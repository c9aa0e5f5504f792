"""The report outbox: the monthly report to each recipient of the rule file's `report:`,
queued in the transaction that decides it (a close, a scheduled run) and sent later by
`ledger.sending`, so a crash loses none.

A delivery's `key` names what it delivers: the trigger, the month, the close's digest or the
scheduled time, the recipient and the language. A close or a scheduled run therefore queues
each delivery once, however many replicas do it. Sending is at-least-once: a sender leases
what it claims (on PostgreSQL with FOR UPDATE SKIP LOCKED, so two replicas never claim the
same delivery), sends with no transaction open and records the outcome. A failed attempt is
tried again after `incident.outbox.retry_delay` (10 s, doubling, at most 1 h); after
`MAX_ATTEMPTS` (about two days) the delivery is `failed` and left alone. Every attempt is
counted in `slakeeper_report_deliveries_total{outcome}`.
"""

from __future__ import annotations

import hashlib
import typing
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from croniter import croniter
from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from core.counters import CounterKey, add_to_counters, counter_key
from core.database import insert_many
from incident.outbox import retry_delay
from ledger import store
from ledger.figures import month_digest
from ledger.models import ReportDelivery
from rules.policy import RuleFile
from rules.schema import ReportSpec

__all__ = [
    "LEASE",
    "MAX_ATTEMPTS",
    "REPORT_DELIVERIES",
    "ClaimedDelivery",
    "DeliveryState",
    "Outcome",
    "claim_due",
    "enqueue_closed",
    "enqueue_reports",
    "enqueue_scheduled",
    "latest_run",
    "record_outcomes",
]

REPORT_DELIVERIES = "slakeeper_report_deliveries_total"
# Rendering the PDF (a minute at worst) and sending a batch must end within it, or another
# replica could claim the batch and send it again.
LEASE = timedelta(minutes=10)
# 10 s doubling to 1 h, then hourly: the 50th attempt comes about two days after the first.
MAX_ATTEMPTS = 50


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # given up after MAX_ATTEMPTS


def _key(trigger: str, month: str, stamp: str, recipient: str, lang: str) -> str:
    # A webhook URL may be long and carry a token: the key holds a hash of it.
    who = hashlib.sha256(f"{recipient}\n{lang}".encode()).hexdigest()[:32]
    return f"{trigger}:{month}:{stamp}:{who}"


def enqueue_reports(
    session: Session,
    *,
    report: ReportSpec,
    month: str,
    trigger: str,
    stamp: str,
    digest: str | None,
    actor: str,
    now: datetime,
) -> None:
    """Queue `month`'s report to each recipient of `report`, in the caller's transaction;
    `stamp` (a digest, a scheduled time) tells this delivery from earlier ones."""
    rows = [
        {
            "key": _key(trigger, month, stamp, recipient, report.lang),
            "month": month,
            "recipient": recipient,
            "lang": report.lang,
            "trigger": trigger,
            "state": DeliveryState.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "created_by": actor,
            "digest": digest,
        }
        for recipient in report.recipients
    ]
    table = typing.cast(Table, ReportDelivery.__table__)
    insert_many(session, table, rows, skip_conflicts_on=["key"])


def enqueue_closed(
    session: Session, *, rules: RuleFile, month: str, actor: str, now: datetime
) -> None:
    """Queue the report of `month`, just closed (in the close's transaction), to every
    recipient: one delivery per close, known by the month's digest."""
    if not rules.spec.report.recipients:
        return
    digest = month_digest(session, month, store.current_records(session, month))
    enqueue_reports(
        session,
        report=rules.spec.report,
        month=month,
        trigger="close",
        stamp=digest,
        digest=digest,
        actor=actor,
        now=now,
    )


def latest_run(schedule: str, zone: ZoneInfo, now: datetime) -> datetime:
    """The latest time at or before `now` that the crontab `schedule` names in `zone`."""
    run: datetime = croniter(schedule, now.astimezone(zone) + timedelta(microseconds=1)).get_prev(
        datetime
    )
    return run


def enqueue_scheduled(session: Session, *, rules: RuleFile, now: datetime) -> str | None:
    """Queue the report of the month before the latest scheduled run (in the rule file's
    time zone) to every recipient; the month queued, None without a schedule or recipients.

    Replicas running the same scheduled run queue each delivery once.
    """
    report = rules.spec.report
    if report.schedule is None or not report.recipients:
        return None
    run = latest_run(report.schedule, rules.timezone, now)
    first = run.replace(day=1)
    month = (first - timedelta(days=1)).strftime("%Y-%m")
    records = store.current_records(session, month)
    enqueue_reports(
        session,
        report=report,
        month=month,
        trigger="schedule",
        stamp=run.strftime("%Y%m%dT%H%M%z"),
        digest=month_digest(session, month, records) if records else None,
        actor="scheduler",
        now=now,
    )
    return month


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery leased for sending."""

    id: int
    key: str
    month: str
    recipient: str
    lang: str
    trigger: str
    attempts: int


def claim_due(session: Session, *, now: datetime, limit: int) -> list[ClaimedDelivery]:
    """Lease up to `limit` pending deliveries due at `now`, oldest first."""
    query = (
        select(
            ReportDelivery.id,
            ReportDelivery.key,
            ReportDelivery.month,
            ReportDelivery.recipient,
            ReportDelivery.lang,
            ReportDelivery.trigger,
            ReportDelivery.attempts,
        )
        .where(ReportDelivery.state == DeliveryState.PENDING.value)
        .where(ReportDelivery.next_attempt_at <= now)
        .order_by(ReportDelivery.next_attempt_at, ReportDelivery.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claimed = [ClaimedDelivery(*row) for row in session.execute(query)]
    if claimed:
        session.execute(
            update(ReportDelivery)
            .where(ReportDelivery.id.in_([delivery.id for delivery in claimed]))
            .values(next_attempt_at=now + LEASE)
        )
    return claimed


@dataclass(frozen=True, slots=True)
class Outcome:
    """How sending one delivery went: `error` None is sent; `digest`, the digest of the report
    sent (None: its month is not closed)."""

    delivery_id: int
    error: str | None
    digest: str | None = None


def record_outcomes(
    session: Session,
    claimed: Sequence[ClaimedDelivery],
    outcomes: Sequence[Outcome],
    *,
    now: datetime,
) -> None:
    """Store each outcome: sent, due again after its back-off, or failed for good; count them."""
    attempts = {delivery.id: delivery.attempts + 1 for delivery in claimed}
    counts: Counter[CounterKey] = Counter()
    for outcome in outcomes:
        tried = attempts[outcome.delivery_id]
        values: dict[str, object] = {"attempts": tried, "last_error": outcome.error}
        if outcome.error is None:
            values.update(state=DeliveryState.SENT.value, sent_at=now, digest=outcome.digest)
            counts[counter_key(REPORT_DELIVERIES, outcome="sent")] += 1
        elif tried >= MAX_ATTEMPTS:
            values["state"] = DeliveryState.FAILED.value
            counts[counter_key(REPORT_DELIVERIES, outcome="abandoned")] += 1
        else:
            values["next_attempt_at"] = now + retry_delay(tried)
            counts[counter_key(REPORT_DELIVERIES, outcome="error")] += 1
        session.execute(
            update(ReportDelivery).where(ReportDelivery.id == outcome.delivery_id).values(values)
        )
    add_to_counters(session, counts)
