"""The monthly compliance report as data: what `report.build_report` produces and the
JSON, CSV and HTML renderings read.

Every table is a pandas DataFrame with the columns listed here, in this order; durations
are seconds (float), ratios are 0..1, times are aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    "ADJUSTMENT_COLUMNS",
    "DISPUTE_COLUMNS",
    "PENDING_COLUMNS",
    "SignedMonth",
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
    "unknown_seconds",  # blind time (heartbeat gaps, truncated pushes, own downtime), not
    # maintenance and not known downtime; counted per `unknown_policy`
    "unknown_policy",  # "up" (default) | "down" | "excluded" (like maintenance)
    "raw_downtime_seconds",  # the measured downtime, before adjustments
    "raw_availability_ratio",  # the measured ratio, before adjustments
    "adjustment_seconds",  # adjusted downtime - raw downtime (negative: downtime removed)
    "credit_ratio",  # share of the monthly fee credited, from the adjusted ratio (0..1)
    "month_state",  # "open" | "closed": a closed month's row is its stored record
    "closed_at",  # NaT while open
    "closed_by",  # None while open
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

# The signed month (`ledger`): adjustments of closed months, by id.
ADJUSTMENT_COLUMNS = (
    "id",  # int
    "service",
    "action",  # "exclude" | "shorten" | "add" | "accept" (a pending change)
    "start",  # the window adjusted, UTC
    "end",
    "category",  # false_alarm | customer_caused | force_majeure | third_party |
    # monitoring_error | agreed_with_customer
    "reason",  # free text
    "state",  # "awaiting_approval" | "applied" | "rejected"
    "created_by",
    "created_at",
    "approved_by",  # None unless approved (or rejected) by a second person
    "approved_at",
    "effect_seconds",  # change of the service's downtime (negative: less downtime)
    "effect_ratio",  # change of the service's availability ratio
    "pending_change_id",  # the change since close an accept applies; None otherwise
)

# Disputed windows, by id.
DISPUTE_COLUMNS = (
    "id",  # int
    "service",
    "start",
    "end",
    "contact",  # who disputes (the customer's contact)
    "reason",
    "state",  # "open" | "resolved"
    "opened_by",
    "opened_at",
    "resolved_by",
    "resolved_at",
    "resolution",
)

# Changes since close: what recomputing a closed month now gives, not yet adjusted for.
PENDING_COLUMNS = (
    "id",  # int
    "service",
    "detected_at",
    "downtime_delta_seconds",  # recomputed - stored
    "maintenance_delta_seconds",
    "unknown_delta_seconds",
    "ratio_delta",
    "state",  # "pending" | "accepted" | "superseded"
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


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(columns=list(columns))


@dataclass(frozen=True)
class SignedMonth:
    """The record part of a report: whether the month is closed, and what changed it."""

    state: str = "open"  # "open" | "closed" (every service) | "partly_closed"
    digest: str | None = None  # SHA-256 (hex) of the stored figures of the closed services
    rules_digest: str | None = None  # SHA-256 (hex) of the rule file the figures used
    adjustments: pd.DataFrame = field(default_factory=lambda: _empty(ADJUSTMENT_COLUMNS))
    disputes: pd.DataFrame = field(default_factory=lambda: _empty(DISPUTE_COLUMNS))
    pending: pd.DataFrame = field(default_factory=lambda: _empty(PENDING_COLUMNS))
    # What the methodology section states: degraded_weight, credits (default tiers as
    # [{"below_ratio", "credit_ratio"}], max_ratio), per-service overrides are the
    # services table's own columns.
    policy: dict[str, Any] = field(default_factory=dict)


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
    record: SignedMonth = field(default_factory=SignedMonth)
