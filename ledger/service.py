"""What managers do to a month: close, reopen, adjust, approve, dispute.

Each function takes the session (the caller commits, with its audit event), the acting
person and `now`. A closed month's figures never change by themselves: closing stores them,
adjustments are rows beside them, reopening marks the record reopened (kept).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from availability.periods import (
    PeriodInFuture,
    from_micros,
    month_period,
    parse_month,
    to_micros,
)
from availability.service import known_service_names, require_known
from ledger import store
from ledger.arithmetic import figures_of, subtract
from ledger.basis import adjusted_basis, record_basis
from ledger.models import MonthAdjustment, MonthDispute, MonthRecord, PendingChange
from ledger.records import digest_of, measure_month
from rules.policy import RuleFile

__all__ = [
    "ACTIONS",
    "CATEGORIES",
    "AdjustmentNotFound",
    "AlreadyClosed",
    "DisputeNotFound",
    "InvalidAdjustment",
    "MonthNotOver",
    "NotClosed",
    "SecondPersonRequired",
    "add_adjustment",
    "close_month",
    "decide_adjustment",
    "open_dispute",
    "reopen_month",
    "resolve_dispute",
]

CATEGORIES = (
    "false_alarm",
    "customer_caused",
    "force_majeure",
    "third_party",
    "monitoring_error",
    "agreed_with_customer",
)
ACTIONS = ("exclude", "shorten", "add", "accept")


class MonthNotOver(ValueError):
    """The month has not ended where the service is: it cannot be closed yet."""


class AlreadyClosed(ValueError):
    """The service's month is closed already (reopen it first)."""


class NotClosed(ValueError):
    """The service's month is not closed: nothing to reopen or adjust."""


class InvalidAdjustment(ValueError):
    """An adjustment that changes nothing or names no window of the month."""


class SecondPersonRequired(ValueError):
    """Adjustments need a second person's approval: not the one who made it."""


class AdjustmentNotFound(LookupError):
    """No adjustment of this month has the id."""


class DisputeNotFound(LookupError):
    """No dispute of this month has the id."""


def _check_over(rules: RuleFile, year: int, month: int, name: str, now: datetime) -> None:
    timezone = rules.service(name).timezone
    try:
        whole = month_period(year, month, timezone, now=now + timedelta(days=62))
    except PeriodInFuture:
        whole = None
    if whole is None or whole.end > now:
        raise MonthNotOver(
            f"{year:04d}-{month:02d} has not ended for {name} ({timezone.key}): "
            "a month is closed once it is over"
        )


def close_month(
    session: Session,
    *,
    rules: RuleFile,
    month: str,
    services: Sequence[str] | None,
    actor: str,
    now: datetime,
) -> list[Any]:
    """Store the figures of `services` (every known service when None) for `month`; the
    records closed, without their figures (`store.record_summaries`).

    Raises AlreadyClosed if a named service (or, for all, every one) is closed already,
    MonthNotOver before the month has ended, UnknownService for a name nobody knows.
    """
    year, number = parse_month(month)
    closed = store.closed_services(session, month)
    if services is None:
        names = [name for name in known_service_names(session, rules=rules) if name not in closed]
        if not names and not closed:
            raise NotClosed(f"no service is known in {month}: nothing to close")
        if not names:
            raise AlreadyClosed(f"every service of {month} is closed already")
    else:
        names = list(dict.fromkeys(services))
        for name in names:
            require_known(session, rules=rules, name=name)
        again = sorted(set(names) & closed)
        if again:
            raise AlreadyClosed(f"{month} is closed already for {', '.join(again)}")
    for name in names:
        _check_over(rules, year, number, name, now)
    _, figures = measure_month(
        session, rules=rules, year=year, month=number, services=names, now=now
    )
    versions = store.next_versions(session, month, names)
    rows = [
        {
            "month": month,
            "service": name,
            "version": versions[name],
            "figures": figures[name],
            "digest": digest_of(figures[name]),
            "rules_digest": rules.digest,
            "closed_at": now,
            "closed_by": actor,
        }
        for name in names
    ]
    session.execute(insert(MonthRecord), rows)
    return store.record_summaries(session, month, names)


def reopen_month(
    session: Session,
    *,
    month: str,
    services: Sequence[str] | None,
    reason: str,
    actor: str,
    now: datetime,
) -> list[MonthRecord]:
    """Mark the closed records of `services` (all when None) reopened; NotClosed if none
    is (or a named one is not)."""
    parse_month(month)
    records = store.current_records(session, month, services)
    missing = sorted(set(services or ()) - {record.service for record in records})
    if missing or not records:
        raise NotClosed(f"{month} is not closed for {', '.join(missing) or 'any service'}")
    for record in records:
        record.reopened_at, record.reopened_by, record.reopen_reason = now, actor, reason
    session.flush()
    return records


def _record(session: Session, month: str, service: str) -> MonthRecord:
    records = store.current_records(session, month, [service])
    if not records:
        raise NotClosed(f"{month} is not closed for {service}: adjust a closed month")
    return records[0]


def add_adjustment(
    session: Session,
    *,
    month: str,
    service: str,
    action: str,
    start: datetime | None,
    end: datetime | None,
    category: str,
    reason: str,
    pending_change_id: int | None,
    needs_approval: bool,
    actor: str,
    now: datetime,
) -> MonthAdjustment:
    """Record an adjustment of a closed month; applied at once unless `needs_approval`."""
    record = _record(session, month, service)
    basis = record_basis(record)
    if action == "accept":
        change = _pending_change(session, record, pending_change_id)
        start_us, end_us = basis.start_us, basis.end_us
    else:
        if start is None or end is None or end <= start:
            raise InvalidAdjustment("give start and end, with start before end")
        start_us, end_us = to_micros(start), to_micros(end)
        change = None
    adjustment = MonthAdjustment(
        month=month,
        service=service,
        record_id=record.id,
        action=action,
        start_at=from_micros(start_us),
        end_at=from_micros(end_us),
        category=category,
        reason=reason,
        state="awaiting_approval" if needs_approval else "applied",
        pending_change_id=change.id if change is not None else None,
        created_by=actor,
        created_at=now,
    )
    _check_changes_something(session, record, adjustment)
    session.add(adjustment)
    session.flush()
    if adjustment.state == "applied":
        _apply(session, record, adjustment)
    return adjustment


def _pending_change(session: Session, record: MonthRecord, change_id: int | None) -> PendingChange:
    change = session.get(PendingChange, change_id) if change_id is not None else None
    if change is None or change.record_id != record.id or change.state != "pending":
        raise InvalidAdjustment(
            "accept names a pending change since close of this service's month (pending_change_id)"
        )
    return change


def _check_changes_something(
    session: Session, record: MonthRecord, adjustment: MonthAdjustment
) -> None:
    """InvalidAdjustment for a window outside the month or one that would change nothing."""
    basis = record_basis(record)
    before = adjusted_basis(session, record)
    if adjustment.action == "accept":
        return
    start_us, end_us = to_micros(adjustment.start_at), to_micros(adjustment.end_at)
    if end_us <= basis.start_us or start_us >= basis.end_us:
        raise InvalidAdjustment("the window lies outside the service's month")
    window = ((max(start_us, basis.start_us), min(end_us, basis.end_us)),)
    if adjustment.action in ("exclude", "shorten"):
        overlap = subtract(window, subtract(window, before.downtime))
        if not overlap:
            raise InvalidAdjustment("no downtime in that window to exclude or shorten")
        if adjustment.action == "shorten" and not any(
            start <= window[0][0] and window[0][1] <= end for start, end in before.downtime
        ):
            raise InvalidAdjustment("shorten a window by a part of one downtime window")
    elif not subtract(subtract(window, before.downtime), before.maintenance):
        raise InvalidAdjustment("that window is downtime or maintenance already")


def _apply(session: Session, record: MonthRecord, adjustment: MonthAdjustment) -> None:
    """Record the effect of an adjustment being applied; accepting settles its change."""
    figures_before = figures_of(adjusted_basis(session, record, without=adjustment.id))
    figures_after = figures_of(adjusted_basis(session, record))
    adjustment.effect_us = figures_after.counted_downtime_us - figures_before.counted_downtime_us
    adjustment.effect_ratio = figures_after.availability_ratio - figures_before.availability_ratio
    if adjustment.pending_change_id is not None:
        change = session.get(PendingChange, adjustment.pending_change_id)
        if change is not None:
            change.state = "accepted"
    session.flush()


def decide_adjustment(
    session: Session, *, month: str, adjustment_id: int, approve: bool, actor: str, now: datetime
) -> MonthAdjustment:
    """A second person approves (or rejects) an adjustment awaiting approval."""
    adjustment = session.get(MonthAdjustment, adjustment_id)
    if adjustment is None or adjustment.month != month:
        raise AdjustmentNotFound(f"no adjustment {adjustment_id} of {month}")
    if adjustment.state != "awaiting_approval":
        raise NotClosed(f"adjustment {adjustment_id} is {adjustment.state}, not awaiting approval")
    if adjustment.created_by == actor:
        raise SecondPersonRequired(
            f"{actor} made adjustment {adjustment_id}: a second person approves it"
        )
    record = _record(session, month, adjustment.service)
    if approve and adjustment.action == "accept":
        # The change found since may have been superseded by a newer one meanwhile.
        _pending_change(session, record, adjustment.pending_change_id)
    adjustment.approved_by, adjustment.approved_at = actor, now
    adjustment.state = "applied" if approve else "rejected"
    session.flush()
    if approve:
        _apply(session, record, adjustment)
    return adjustment


def open_dispute(
    session: Session,
    *,
    rules: RuleFile,
    month: str,
    service: str,
    start: datetime,
    end: datetime,
    contact: str,
    reason: str,
    actor: str,
    now: datetime,
) -> MonthDispute:
    """Record that the customer's `contact` disputes [start, end) of the service's month."""
    year, number = parse_month(month)
    require_known(session, rules=rules, name=service)
    if end <= start:
        raise InvalidAdjustment("a disputed window needs start before end")
    try:
        period = month_period(year, number, rules.service(service).timezone, now=now)
    except PeriodInFuture:
        raise InvalidAdjustment(f"{month} has not begun for {service}") from None
    if end <= period.start or start >= period.end:
        raise InvalidAdjustment("the disputed window lies outside the service's month")
    dispute = MonthDispute(
        month=month,
        service=service,
        start_at=start,
        end_at=end,
        contact=contact,
        reason=reason,
        state="open",
        opened_by=actor,
        opened_at=now,
    )
    session.add(dispute)
    session.flush()
    return dispute


def resolve_dispute(
    session: Session, *, month: str, dispute_id: int, resolution: str, actor: str, now: datetime
) -> MonthDispute:
    dispute = session.get(MonthDispute, dispute_id)
    if dispute is None or dispute.month != month:
        raise DisputeNotFound(f"no dispute {dispute_id} of {month}")
    if dispute.state != "open":
        raise NotClosed(f"dispute {dispute_id} is resolved already")
    dispute.state, dispute.resolution = "resolved", resolution
    dispute.resolved_by, dispute.resolved_at = actor, now
    session.flush()
    return dispute
