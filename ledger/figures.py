"""A closed service's row of the report: its record, adjusted; and the month's digest."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from availability.credits import credit_ratio
from availability.figures import MICROS_PER_DAY, MICROS_PER_SECOND
from ledger.arithmetic import Figures, figures_of_many
from ledger.basis import adjusted_bases, record_basis
from ledger.models import MonthAdjustment, MonthRecord
from ledger.records import digest_of
from rules.policy import CreditPolicy

__all__ = ["adjusted_row", "adjusted_rows", "credit_of", "month_digest"]


def credit_of(ratio: float, credits: dict[str, Any]) -> float:
    """The credit of `ratio` under a record's stored credit policy."""
    tiers = tuple((float(t["below_ratio"]), float(t["credit_ratio"])) for t in credits["tiers"])
    return credit_ratio(ratio, CreditPolicy(tiers, float(credits["max_ratio"])))


def adjusted_row(session: Session, record: MonthRecord) -> dict[str, Any]:
    """The record's stored row with the adjusted figures, raw ones beside them."""
    return adjusted_rows(session, [record])[record.service]


def adjusted_rows(session: Session, records: list[MonthRecord]) -> dict[str, dict[str, Any]]:
    """`adjusted_row` of each record, by service (the adjustments read once)."""
    bases = adjusted_bases(session, records)
    raws = figures_of_many([record_basis(record) for record in records])
    adjusteds = figures_of_many([bases[record.id] for record in records])
    return {
        record.service: _row(record, raw, adjusted)
        for record, raw, adjusted in zip(records, raws, adjusteds, strict=True)
    }


def _row(record: MonthRecord, raw: Figures, adjusted: Figures) -> dict[str, Any]:
    stored = record.figures
    row = dict(stored["row"])
    row.update(
        maintenance_seconds=adjusted.maintenance_us / MICROS_PER_SECOND,
        downtime_seconds=adjusted.downtime_us / MICROS_PER_SECOND,
        degraded_seconds=adjusted.degraded_us / MICROS_PER_SECOND,
        unknown_seconds=adjusted.unknown_us / MICROS_PER_SECOND,
        availability_ratio=adjusted.availability_ratio,
        met=adjusted.met,
        error_budget_seconds=adjusted.error_budget_us / MICROS_PER_SECOND,
        error_budget_remaining_seconds=adjusted.error_budget_remaining_us / MICROS_PER_SECOND,
        warranty_extension_days=-(-adjusted.downtime_us // MICROS_PER_DAY),
        raw_downtime_seconds=raw.downtime_us / MICROS_PER_SECOND,
        raw_availability_ratio=raw.availability_ratio,
        adjustment_seconds=(adjusted.counted_downtime_us - raw.counted_downtime_us)
        / MICROS_PER_SECOND,
        credit_ratio=credit_of(adjusted.availability_ratio, stored["credits"]),
        month_state="closed",
        closed_at=record.closed_at,
        closed_by=record.closed_by,
    )
    return row


def month_digest(session: Session, month: str, records: list[MonthRecord]) -> str:
    """SHA-256 of what a closed month's report stands on: each record's version and digest,
    and the applied adjustments with their effects."""
    ids = [record.id for record in records]
    adjustments = (
        session.query(MonthAdjustment)
        .filter(MonthAdjustment.month == month, MonthAdjustment.state == "applied")
        .order_by(MonthAdjustment.id)
        .all()
    )
    return digest_of(
        {
            "month": month,
            "records": sorted(
                [record.service, record.version, record.digest] for record in records
            ),
            "adjustments": [
                [
                    a.id,
                    a.service,
                    a.action,
                    a.start_at.isoformat(),
                    a.end_at.isoformat(),
                    a.effect_us,
                    a.pending_change_id,
                ]
                for a in adjustments
                if a.action != "accept" or a.record_id in ids
            ],
        }
    )
