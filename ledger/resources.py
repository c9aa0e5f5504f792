"""Response models of the signed month's routes (documentation: bodies are built as dicts)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AdjustmentPage",
    "AdjustmentResource",
    "ClosedPage",
    "DisputeResource",
    "MonthResource",
]


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class ClosedRecord(_Model):
    service: str
    version: int = Field(description="1 for the first close, then one more per close")
    digest: str = Field(description="SHA-256 of the stored figures")
    rules_digest: str = Field(description="SHA-256 of the rule file they were computed with")
    closed_at: datetime
    closed_by: str
    reopened_at: datetime | None
    reopened_by: str | None


class ClosedPage(_Model):
    items: list[ClosedRecord]


class AdjustmentResource(_Model):
    id: int
    service: str
    action: Literal["exclude", "shorten", "add", "accept"]
    start: datetime
    end: datetime
    category: str
    reason: str
    state: Literal["awaiting_approval", "applied", "rejected"]
    created_by: str
    created_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    effect_seconds: float | None = Field(description="change of downtime; null until applied")
    effect_ratio: float | None
    pending_change_id: int | None = None


class AdjustmentPage(_Model):
    items: list[AdjustmentResource]
    next_cursor: str | None = Field(description="always null: every adjustment is listed")


class DisputeResource(_Model):
    id: int
    service: str
    start: datetime
    end: datetime
    contact: str
    reason: str
    state: Literal["open", "resolved"]
    opened_by: str
    opened_at: datetime
    resolved_by: str | None
    resolved_at: datetime | None
    resolution: str | None


class PendingResource(_Model):
    id: int
    service: str
    detected_at: datetime
    downtime_delta_seconds: float
    maintenance_delta_seconds: float
    unknown_delta_seconds: float
    ratio_delta: float
    state: Literal["pending", "accepted", "superseded"]


class MonthService(_Model):
    service: str
    month_state: Literal["open", "closed"]
    closed_at: datetime | None
    closed_by: str | None
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    total_seconds: float
    maintenance_seconds: float
    downtime_seconds: float = Field(description="adjusted")
    degraded_seconds: float
    unknown_seconds: float
    unknown_policy: Literal["up", "down", "excluded"]
    availability_ratio: float = Field(description="adjusted")
    target_ratio: float
    met: bool
    raw_downtime_seconds: float
    raw_availability_ratio: float
    adjustment_seconds: float
    credit_ratio: float


class MonthResource(_Model):
    month: str
    state: Literal["open", "closed", "partly_closed"]
    digest: str | None = Field(description="SHA-256 of the closed records and adjustments")
    rules_digest: str
    services: list[MonthService]
    adjustments: list[AdjustmentResource]
    disputes: list[DisputeResource]
    pending_changes: list[PendingResource]
