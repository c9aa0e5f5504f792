"""A closed record's basis and the adjustments applied to it, read from the database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from availability.periods import to_micros
from ledger.arithmetic import Basis, Change, apply, basis_of
from ledger.models import MonthAdjustment, MonthRecord, PendingChange

__all__ = [
    "adjusted_basis",
    "adjusted_bases",
    "applied_changes",
    "change_of",
    "record_basis",
]


def record_basis(record: MonthRecord) -> Basis:
    return basis_of(record.figures)


def change_of(session: Session, adjustment: MonthAdjustment) -> Change:
    """The arithmetic of one adjustment (an accept carries the change's figures)."""
    if adjustment.action == "accept":
        pending = (
            session.get(PendingChange, adjustment.pending_change_id)
            if adjustment.pending_change_id is not None
            else None
        )
        return Change("accept", basis=basis_of(pending.figures) if pending else None)
    return Change(adjustment.action, to_micros(adjustment.start_at), to_micros(adjustment.end_at))


def applied_changes(
    session: Session, record: MonthRecord, *, without: int | None = None
) -> list[Change]:
    """The applied adjustments of the record's service and month, in order (an accept only
    of this record: a record closed again already holds what an older one accepted);
    `without` leaves one out."""
    query = (
        select(MonthAdjustment)
        .where(
            MonthAdjustment.month == record.month,
            MonthAdjustment.service == record.service,
            MonthAdjustment.state == "applied",
        )
        .order_by(MonthAdjustment.id)
    )
    return [
        change_of(session, adjustment)
        for adjustment in session.scalars(query)
        if adjustment.id != without
        and (adjustment.action != "accept" or adjustment.record_id == record.id)
    ]


def adjusted_basis(session: Session, record: MonthRecord, *, without: int | None = None) -> Basis:
    """The record's basis with its applied adjustments."""
    return apply(record_basis(record), applied_changes(session, record, without=without))


def adjusted_bases(session: Session, records: list[MonthRecord]) -> dict[int, Basis]:
    """`adjusted_basis` of each record (by id), reading the adjustments of their months and
    the changes they accept once, not per record."""
    months = sorted({record.month for record in records})
    if not records:
        return {}
    query = (
        select(MonthAdjustment)
        .where(MonthAdjustment.month.in_(months), MonthAdjustment.state == "applied")
        .order_by(MonthAdjustment.id)
    )
    adjustments = list(session.scalars(query))
    accepted = [a.pending_change_id for a in adjustments if a.pending_change_id is not None]
    pending = (
        {
            change.id: change
            for change in session.scalars(
                select(PendingChange).where(PendingChange.id.in_(accepted))
            )
        }
        if accepted
        else {}
    )
    by_service: dict[tuple[str, str], list[MonthAdjustment]] = {}
    for adjustment in adjustments:
        by_service.setdefault((adjustment.month, adjustment.service), []).append(adjustment)
    bases: dict[int, Basis] = {}
    for record in records:
        changes = []
        for adjustment in by_service.get((record.month, record.service), []):
            if adjustment.action != "accept":
                changes.append(
                    Change(
                        adjustment.action,
                        to_micros(adjustment.start_at),
                        to_micros(adjustment.end_at),
                    )
                )
            elif adjustment.record_id == record.id:
                change = pending.get(adjustment.pending_change_id or 0)
                changes.append(Change("accept", basis=basis_of(change.figures) if change else None))
        bases[record.id] = apply(record_basis(record), changes)
    return bases
