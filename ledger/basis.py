"""A closed record's basis and the adjustments applied to it, read from the database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from availability.periods import to_micros
from ledger.arithmetic import Basis, Change, apply, basis_of
from ledger.models import MonthAdjustment, MonthRecord, PendingChange

__all__ = ["adjusted_basis", "adjusted_bases", "record_basis"]


def record_basis(record: MonthRecord) -> Basis:
    return basis_of(record.figures)


def adjusted_basis(session: Session, record: MonthRecord, *, without: int | None = None) -> Basis:
    """The record's basis with its applied adjustments; `without` leaves one out."""
    return adjusted_bases(session, [record], without=without)[record.id]


def adjusted_bases(
    session: Session, records: list[MonthRecord], *, without: int | None = None
) -> dict[int, Basis]:
    """Each record's basis (by id) with the applied adjustments of its service and month, in
    order (an accept only of this record: a record closed again already holds what an older
    one accepted); the adjustments and the changes they accept are read once, not per
    record. `without` leaves one adjustment out."""
    months = sorted({record.month for record in records})
    if not records:
        return {}
    query = (
        select(MonthAdjustment)
        .where(
            MonthAdjustment.month.in_(months),
            MonthAdjustment.service.in_({record.service for record in records}),
            MonthAdjustment.state == "applied",
        )
        .order_by(MonthAdjustment.id)
    )
    adjustments = [a for a in session.scalars(query) if a.id != without]
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
