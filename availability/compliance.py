"""The monthly compliance report as data: what `report.build_report` produces and the
JSON, CSV and HTML renderings read.

Every table is a pandas DataFrame with the columns listed here, in this order; durations
are seconds (float), ratios are 0..1, times are aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

__all__ = [
    "ALL_SERVICES",
    "BREACH_COLUMNS",
    "DAY_COLUMNS",
    "PRIORITY_COLUMNS",
    "SERVICE_COLUMNS",
    "ComplianceReport",
]

# The `service` of the `priorities` rows that total every service.
ALL_SERVICES = "(all)"

# One row per service, sorted by service name.
SERVICE_COLUMNS = (
    "service",
    "timezone",  # the service's time zone: its month runs from local midnight to midnight
    "from",  # the service's period, UTC
    "to",
    "total_seconds",
    "maintenance_seconds",
    "downtime_seconds",
    "degraded_seconds",
    "availability_ratio",
    "target_ratio",
    "met",  # bool: availability_ratio >= target_ratio
    "error_budget_seconds",
    "error_budget_remaining_seconds",  # negative once the budget is spent
    "warranty_extension_days",  # int: ceil(downtime / 24 h)
    "incidents",  # int: incidents opened in the period
    "response_breaches",  # int
    "resolution_breaches",  # int
    "mtta_seconds",  # mean time to acknowledge (SLA calendar); NaN when none responded
    "mttr_seconds",  # mean time to resolve (SLA calendar); NaN when none resolved
)

# One row per (service, priority) with at least one incident opened in the period, and one
# row per priority of the rule file with service "(all)", most urgent priority first.
PRIORITY_COLUMNS = (
    "service",
    "priority",
    "incidents",  # int
    "response_measured",  # int: responded, or breached while waiting
    "response_met",  # int
    "response_met_ratio",  # response_met / response_measured; NaN when nothing measured
    "response_breaches",  # int
    "resolution_measured",
    "resolution_met",
    "resolution_met_ratio",
    "resolution_breaches",
    "mtta_seconds",
    "mttr_seconds",
)

# One row per local day of the report's time zone: total downtime of all services that day.
DAY_COLUMNS = ("day", "downtime_seconds")  # day: datetime.date

# One row per breach of an incident opened in the period, by due time.
BREACH_COLUMNS = (
    "incident_id",  # int
    "service",
    "priority",
    "kind",  # "response" | "resolution"
    "title",
    "opened_at",
    "due_at",
    "done_at",  # acknowledged (response) or resolved (resolution) at; NaT while pending
    "late_seconds",  # done_at (or the report's end while pending) - due_at
)


@dataclass(frozen=True)
class ComplianceReport:
    """A month's compliance report for every service."""

    month: str  # "YYYY-MM"
    timezone: str  # the report's time zone (the rule file's): days of the chart
    start: datetime  # the month in the report's time zone, UTC; `end` is now for this month
    end: datetime
    generated_at: datetime
    services: pd.DataFrame  # SERVICE_COLUMNS
    priorities: pd.DataFrame  # PRIORITY_COLUMNS
    downtime_by_day: pd.DataFrame  # DAY_COLUMNS
    breaches: pd.DataFrame  # BREACH_COLUMNS
    # services, services_met, services_breached, availability_ratio (time-weighted over all
    # services: sum(T - M - D) / sum(T - M)), downtime_seconds, maintenance_seconds,
    # degraded_seconds, incidents, response_breaches, resolution_breaches, mtta_seconds,
    # mttr_seconds (None when there is nothing to average)
    summary: dict[str, Any]
