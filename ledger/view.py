"""`GET /api/v1/months/{month}`: the month per service, raw and adjusted, and what changed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from availability.rendering import records_of
from ledger.reporting import month_report
from rules.policy import RuleFile

__all__ = ["SERVICE_FIELDS", "month_view"]

SERVICE_FIELDS = (
    "service",
    "month_state",
    "closed_at",
    "closed_by",
    "from",
    "to",
    "total_seconds",
    "maintenance_seconds",
    "downtime_seconds",
    "degraded_seconds",
    "unknown_seconds",
    "unknown_policy",
    "availability_ratio",
    "target_ratio",
    "met",
    "raw_downtime_seconds",
    "raw_availability_ratio",
    "adjustment_seconds",
    "credit_ratio",
)


def month_view(
    session: Session, *, rules: RuleFile, year: int, month: int, now: datetime
) -> dict[str, Any]:
    report = month_report(session, rules=rules, year=year, month=month, now=now)
    record = report.record
    services = [
        {field: row[field] for field in SERVICE_FIELDS} for row in records_of(report.services)
    ]
    return {
        "month": report.month,
        "state": record.state,
        "digest": record.digest,
        "rules_digest": record.rules_digest or rules.digest,
        "services": services,
        "adjustments": records_of(record.adjustments),
        "disputes": records_of(record.disputes),
        "pending_changes": records_of(record.pending),
    }
