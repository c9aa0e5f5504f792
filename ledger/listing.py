"""A month's adjustments, disputes and changes since close as report tables and API items."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from availability.compliance import ADJUSTMENT_COLUMNS, DISPUTE_COLUMNS, PENDING_COLUMNS
from availability.figures import MICROS_PER_SECOND
from core.wire import rfc3339
from ledger import store
from ledger.models import MonthAdjustment, MonthDispute, PendingChange

__all__ = [
    "adjustment_fields",
    "adjustment_rows",
    "dispute_fields",
    "dispute_rows",
    "pending_fields",
    "pending_rows",
]

_SHOWN_PENDING = ("pending", "accepted")


def adjustment_fields(adjustment: MonthAdjustment) -> dict[str, Any]:
    return {
        "id": adjustment.id,
        "service": adjustment.service,
        "action": adjustment.action,
        "start": adjustment.start_at,
        "end": adjustment.end_at,
        "category": adjustment.category,
        "reason": adjustment.reason,
        "state": adjustment.state,
        "created_by": adjustment.created_by,
        "created_at": adjustment.created_at,
        "approved_by": adjustment.approved_by,
        "approved_at": adjustment.approved_at,
        "effect_seconds": None
        if adjustment.effect_us is None
        else adjustment.effect_us / MICROS_PER_SECOND,
        "effect_ratio": adjustment.effect_ratio,
        "pending_change_id": adjustment.pending_change_id,
    }


def dispute_fields(dispute: MonthDispute) -> dict[str, Any]:
    return {
        "id": dispute.id,
        "service": dispute.service,
        "start": dispute.start_at,
        "end": dispute.end_at,
        "contact": dispute.contact,
        "reason": dispute.reason,
        "state": dispute.state,
        "opened_by": dispute.opened_by,
        "opened_at": dispute.opened_at,
        "resolved_by": dispute.resolved_by,
        "resolved_at": dispute.resolved_at,
        "resolution": dispute.resolution,
    }


def pending_fields(change: PendingChange) -> dict[str, Any]:
    return {
        "id": change.id,
        "service": change.service,
        "detected_at": change.detected_at,
        "downtime_delta_seconds": change.downtime_delta_us / MICROS_PER_SECOND,
        "maintenance_delta_seconds": change.maintenance_delta_us / MICROS_PER_SECOND,
        "unknown_delta_seconds": change.unknown_delta_us / MICROS_PER_SECOND,
        "ratio_delta": change.ratio_delta,
        "state": change.state,
    }


def _frame(items: list[dict[str, Any]], columns: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.DataFrame([{c: item[c] for c in columns} for item in items], columns=list(columns))
    for column in columns:
        if column.endswith("_at") or column in ("start", "end"):
            frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def adjustment_rows(session: Session, month: str) -> pd.DataFrame:
    items = [adjustment_fields(a) for a in store.adjustments_of(session, month)]
    return _frame(items, ADJUSTMENT_COLUMNS)


def dispute_rows(session: Session, month: str) -> pd.DataFrame:
    return _frame([dispute_fields(d) for d in store.disputes_of(session, month)], DISPUTE_COLUMNS)


def pending_rows(session: Session, month: str) -> pd.DataFrame:
    changes = store.pending_of(session, month, states=_SHOWN_PENDING)
    return _frame([pending_fields(c) for c in changes], PENDING_COLUMNS)


def wire(fields: dict[str, Any]) -> dict[str, Any]:
    """API form: instants as RFC 3339."""
    return {
        key: rfc3339(value) if isinstance(value, datetime) else value
        for key, value in fields.items()
    }
