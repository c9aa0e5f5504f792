"""What tells when slakeeper heard nothing, recorded as it happens (SQL).

- Heartbeat receipts: a push carrying the firing heartbeat alert (the rule file's
  `heartbeat`) extends its source's latest span, or opens a new one if the last receipt is
  older than the heartbeat's interval. slakeeper's scheduler records its own receipts the
  same way (source `slakeeper`), so the gaps in its spans are slakeeper's own downtime.
- Lost alerts: a push with `truncatedAlerts > 0` makes every service blind from the push for
  the heartbeat's interval (`TRUNCATED_WINDOW` without a heartbeat): the lost alerts may have
  been about any service, and their source re-sends what still fires within about that long.

Both update a row in place (one UPDATE, else one INSERT), safe with several writers: two
that insert at once make two overlapping spans, which count once.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import Table, case, insert, literal, update
from sqlalchemy.orm import Session

from collector.alerts import AlertStatus, Delivery
from collector.models import BlindWindow, HeartbeatSpan
from core.database import UTCDateTime
from rules.engine import CompiledMatchers
from rules.policy import HeartbeatPolicy

__all__ = [
    "SELF_GAP",
    "SELF_INTERVAL",
    "SELF_SOURCE",
    "TRUNCATED",
    "TRUNCATED_WINDOW",
    "heartbeat_receipts",
    "record_blind_time",
    "record_lost_alerts",
    "record_span",
]

SELF_SOURCE = "slakeeper"
# The scheduler records slakeeper's own heartbeat this often; a longer gap than SELF_GAP
# between its receipts (no replica running its scheduler) is blind time for every service.
SELF_INTERVAL = timedelta(seconds=15)
SELF_GAP = timedelta(seconds=60)
TRUNCATED = "truncated"
TRUNCATED_WINDOW = timedelta(minutes=5)

_spans = typing.cast(Table, HeartbeatSpan.__table__)
_blind = typing.cast(Table, BlindWindow.__table__)

Received = tuple[datetime, datetime]  # the first and last receipt of a batch


def heartbeat_receipts(
    deliveries: Iterable[Delivery], matchers: CompiledMatchers
) -> dict[str, Received]:
    """Per source, when the deliveries carrying a firing heartbeat alert were received.

    Every alert of a batch is looked at, so each distinct value of the labels the matchers
    test is matched once: a dictionary lookup per alert.
    """
    names = tuple(dict.fromkeys(matcher.name for matcher in matchers.matchers))
    decided: dict[tuple[str, ...], bool] = {}
    heard: dict[str, Received] = {}
    for delivery in deliveries:
        for alert in delivery.alerts:
            if alert.status is not AlertStatus.FIRING:
                continue
            key = tuple([alert.labels.get(name, "") for name in names])
            found = decided.get(key)
            if found is None:
                found = decided[key] = matchers.matches(alert.labels)
            if found:
                at, source = delivery.received_at, delivery.source.value
                first, last = heard.get(source, (at, at))
                heard[source] = (min(first, at), max(last, at))
                break
    return heard


def _later(column: typing.Any, at: datetime) -> typing.Any:
    """`column`, or `at` where that is later: a late writer never moves an end back."""
    instant = literal(at, UTCDateTime())
    return case((column < instant, instant), else_=column)


def record_span(
    session: Session, *, source: str, first_at: datetime, last_at: datetime, tolerance: timedelta
) -> None:
    """Receipts from `first_at` to `last_at`: extend the span they continue, else open one."""
    column = _spans.c
    extended = session.execute(
        update(_spans)
        .where(column.source == source)
        .where(column.last_at >= first_at - tolerance)
        .where(column.first_at <= last_at + tolerance)
        .values(last_at=_later(column.last_at, last_at))
    )
    if typing.cast(typing.Any, extended).rowcount == 0:
        session.execute(insert(_spans).values(source=source, first_at=first_at, last_at=last_at))


def record_lost_alerts(session: Session, *, source: str, start: datetime, end: datetime) -> None:
    """Alerts of `source` lost over [start, end): extend its window still open, else open one."""
    column = _blind.c
    extended = session.execute(
        update(_blind)
        .where(column.reason == TRUNCATED)
        .where(column.source == source)
        .where(column.end_at >= start)
        .where(column.start_at <= start)
        .values(end_at=_later(column.end_at, end))
    )
    if typing.cast(typing.Any, extended).rowcount == 0:
        session.execute(
            insert(_blind).values(reason=TRUNCATED, source=source, start_at=start, end_at=end)
        )


def record_blind_time(
    session: Session, deliveries: Iterable[Delivery], *, heartbeat: HeartbeatPolicy | None
) -> None:
    """The heartbeat receipts and the lost alerts of a batch of deliveries.

    Called last in the ingestion transaction: these rows are the last it locks, so two
    batches waiting for each other's span cannot hold anything else the other needs.
    """
    deliveries = list(deliveries)
    if heartbeat is not None:
        receipts = heartbeat_receipts(deliveries, heartbeat.matchers)
        for source, (first, last) in sorted(receipts.items()):
            record_span(
                session, source=source, first_at=first, last_at=last, tolerance=heartbeat.interval
            )
    window = heartbeat.interval if heartbeat is not None else TRUNCATED_WINDOW
    lost: dict[str, Received] = {}
    for delivery in deliveries:
        if delivery.truncated_alerts > 0:
            at, source = delivery.received_at, delivery.source.value
            first, last = lost.get(source, (at, at))
            lost[source] = (min(first, at), max(last, at))
    for source, (first, last) in sorted(lost.items()):
        record_lost_alerts(session, source=source, start=first, end=last + window)
