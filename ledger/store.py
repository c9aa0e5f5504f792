"""Reads and writes of the signed month; the caller holds the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.database import dialect_insert
from ledger.models import MonthAdjustment, MonthDispute, MonthRecord, PendingChange, RulePolicy
from rules.policy import RuleFile

__all__ = [
    "closed_services",
    "record_summaries",
    "adjustments_of",
    "closed_months",
    "current_records",
    "disputes_of",
    "latest_policy",
    "next_versions",
    "pending_of",
    "policy_text",
    "remember_policy",
]


def current_records(
    session: Session, month: str, services: Sequence[str] | None = None
) -> list[MonthRecord]:
    """The closed (not reopened) records of `month`, by service."""
    query = select(MonthRecord).where(MonthRecord.month == month, MonthRecord.reopened_at.is_(None))
    if services is not None:
        query = query.where(MonthRecord.service.in_(list(services)))
    return list(session.scalars(query.order_by(MonthRecord.service)))


def closed_services(session: Session, month: str) -> set[str]:
    """The services whose `month` is closed (not reopened)."""
    query = select(MonthRecord.service).where(
        MonthRecord.month == month, MonthRecord.reopened_at.is_(None)
    )
    return set(session.scalars(query))


_SUMMARY = (
    MonthRecord.service,
    MonthRecord.version,
    MonthRecord.digest,
    MonthRecord.rules_digest,
    MonthRecord.closed_at,
    MonthRecord.closed_by,
    MonthRecord.reopened_at,
    MonthRecord.reopened_by,
)


def record_summaries(session: Session, month: str, services: Sequence[str]) -> list[Any]:
    """The closed records of `services` without their figures (rows with the record's
    attributes but `figures`), by service."""
    query = select(*_SUMMARY).where(
        MonthRecord.month == month,
        MonthRecord.reopened_at.is_(None),
        MonthRecord.service.in_(list(services)),
    )
    return list(session.execute(query.order_by(MonthRecord.service)))


def closed_months(session: Session) -> list[str]:
    """Every month with at least one closed service, oldest first."""
    query = (
        select(MonthRecord.month)
        .where(MonthRecord.reopened_at.is_(None))
        .group_by(MonthRecord.month)
        .order_by(MonthRecord.month)
    )
    return list(session.scalars(query))


def next_versions(session: Session, month: str, services: Sequence[str]) -> dict[str, int]:
    """The version the next close of each service's month gets (1 for the first)."""
    query = (
        select(MonthRecord.service, func.max(MonthRecord.version))
        .where(MonthRecord.month == month, MonthRecord.service.in_(list(services)))
        .group_by(MonthRecord.service)
    )
    highest = {service: int(version) for service, version in session.execute(query)}
    return {service: highest.get(service, 0) + 1 for service in services}


def adjustments_of(session: Session, month: str) -> list[MonthAdjustment]:
    """Every adjustment of the month, by id (those of an earlier close included: an
    exclusion still applies when the month is closed again)."""
    query = select(MonthAdjustment).where(MonthAdjustment.month == month)
    return list(session.scalars(query.order_by(MonthAdjustment.id)))


def disputes_of(session: Session, month: str) -> list[MonthDispute]:
    query = select(MonthDispute).where(MonthDispute.month == month)
    return list(session.scalars(query.order_by(MonthDispute.id)))


def pending_of(session: Session, month: str, *, states: Sequence[str]) -> list[PendingChange]:
    """Changes since close of the month's current records in `states`, by id."""
    current = select(MonthRecord.id).where(
        MonthRecord.month == month, MonthRecord.reopened_at.is_(None)
    )
    query = select(PendingChange).where(
        PendingChange.month == month,
        PendingChange.record_id.in_(current),
        PendingChange.state.in_(list(states)),
    )
    return list(session.scalars(query.order_by(PendingChange.id)))


def remember_policy(
    session: Session, rules: RuleFile, *, default_timezone: str, now: datetime
) -> None:
    """Record that `rules` is the rule file in use from `now` (its text, to compute again)."""
    fields = {
        "digest": rules.digest,
        "text": rules.text,
        "source": rules.source,
        "default_timezone": default_timezone,
        "first_loaded_at": now,
        "last_loaded_at": now,
    }
    # Replicas starting together insert the same row: the first wins, the others update.
    insert = dialect_insert(session, RulePolicy.__table__).values(**fields)
    session.execute(insert.on_conflict_do_nothing(index_elements=["digest"]))
    session.execute(
        update(RulePolicy)
        .where(RulePolicy.digest == rules.digest, RulePolicy.last_loaded_at < now)
        .values(last_loaded_at=now)
    )


def latest_policy(session: Session) -> RulePolicy | None:
    """The rule file a server loaded last, if any did."""
    query = select(RulePolicy).order_by(RulePolicy.last_loaded_at.desc()).limit(1)
    return session.scalars(query).first()


def policy_text(session: Session, digest: str) -> RulePolicy | None:
    return session.get(RulePolicy, digest)
