"""What the availability routes answer: services, figures, maintenance windows, the report.

The models document the bodies in `/openapi.json`; routes render the dicts of
`availability.service`, `maintenance_resource` and `availability.rendering.report_json`
with orjson. Fields named `from` and `to` are aliases: `from` is a Python keyword.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from availability.maintenance import MaintenanceDefinition
from availability.silences import SilenceRecord
from core.wire import rfc3339

__all__ = [
    "AvailabilityResource",
    "CancelledWindow",
    "ComplianceReportResource",
    "MaintenancePage",
    "MaintenanceResource",
    "ServicePage",
    "ServiceResource",
    "SilenceResource",
    "maintenance_resource",
]


class _Ranged(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to", description="now, for a period that includes now")


class ServiceResource(BaseModel):
    """A service now: `down` is an outage outside maintenance."""

    name: str
    state: Literal["up", "down", "maintenance", "degraded"]
    up: bool
    target_ratio: float
    timezone: str
    open_incidents: int
    open_incidents_by_priority: dict[str, int]
    listed: bool = Field(description="whether the rule file's `services` lists it")


class ServicePage(BaseModel):
    items: list[ServiceResource]
    next_cursor: str | None = Field(description="always null: every service is listed")


class AvailabilityResource(_Ranged):
    """A service's availability over a period, maintenance excluded (DESIGN §3), blind time
    counted per the service's unknown policy."""

    service: str
    total_seconds: float
    maintenance_seconds: float
    downtime_seconds: float = Field(description="as measured, without unknown time")
    degraded_seconds: float
    availability_ratio: float = Field(description="with unknown time counted per the policy")
    target_ratio: float
    met: bool
    error_budget_seconds: float
    error_budget_remaining_seconds: float = Field(description="negative once spent")
    warranty_extension_days: int
    unknown_seconds: float = Field(
        description="blind time (heartbeat gaps, lost alerts, slakeeper's own downtime) that "
        "is neither maintenance, downtime nor degraded time"
    )
    unknown_policy: Literal["up", "down", "excluded"] = Field(
        description="how unknown time counts: as available, as downtime, or out of the "
        "measured time like maintenance"
    )
    credit_ratio: float = Field(
        ge=0, le=1, description="share of the monthly fee credited for this availability"
    )


class Occurrence(BaseModel):
    start: datetime
    end: datetime


class SilenceResource(BaseModel):
    """The Alertmanager silence of one occurrence (with `SLAKEEPER_ALERTMANAGER_URL`)."""

    occurrence: str = Field(examples=["api/12/2026-11-28T18:00:00Z"])
    start: datetime
    end: datetime
    state: Literal["pending", "active", "expired", "failed"] = Field(
        description="active: Alertmanager holds it (pending there until the occurrence "
        "starts); failed: the last attempt failed, retried every minute; expired: the window "
        "no longer asks for it"
    )
    silence_id: str | None = Field(description="Alertmanager's id, once it has one")
    matchers: str = Field(examples=['service="payments"'])
    attempts: int = Field(description="failed attempts since the last success")
    last_error: str | None
    updated_at: datetime | None


class MaintenanceResource(BaseModel):
    """A maintenance window: one-off (`start`, `end`) or recurring (`cron`, `duration`)."""

    id: int | None = Field(description="null for the rule file's windows")
    origin: Literal["rules", "api"]
    service: str
    start: datetime | None
    end: datetime | None
    cron: str | None
    duration_seconds: float | None
    reason: str
    created_by: str | None = Field(
        default=None, description="who planned it (null for the rule file's windows)"
    )
    occurrences: list[Occurrence] | None = Field(
        default=None, description="listed when the query gives from and to"
    )
    silences: list[SilenceResource] | None = Field(
        default=None,
        description="in the list: the Alertmanager silences of its occurrences not ended yet "
        "(each occurrence gets one a day ahead, with SLAKEEPER_ALERTMANAGER_URL set)",
    )


class MaintenancePage(BaseModel):
    items: list[MaintenanceResource]
    next_cursor: str | None = Field(description="always null: every window is listed")


class CancelledWindow(BaseModel):
    id: int
    deleted: bool
    deleted_by: str


def maintenance_resource(
    definition: MaintenanceDefinition,
    occurrences: list[tuple[datetime, datetime]] | None = None,
    silences: list[SilenceRecord] | None = None,
) -> dict[str, Any]:
    """A window as the API shows it (`MaintenanceResource`), with its occurrences and its
    silences if given."""
    resource: dict[str, Any] = {
        "id": definition.id,
        "origin": definition.origin.value,
        "service": definition.service,
        "start": rfc3339(definition.start) if definition.start is not None else None,
        "end": rfc3339(definition.end) if definition.end is not None else None,
        "cron": definition.cron,
        "duration_seconds": (
            definition.duration.total_seconds() if definition.duration is not None else None
        ),
        "reason": definition.reason,
        "created_by": definition.created_by,
    }
    if occurrences is not None:
        resource["occurrences"] = [
            {"start": rfc3339(start), "end": rfc3339(end)} for start, end in occurrences
        ]
    if silences is not None:
        resource["silences"] = [silence_resource(silence) for silence in silences]
    return resource


def silence_resource(silence: SilenceRecord) -> dict[str, Any]:
    """An occurrence's silence as the API shows it (`SilenceResource`)."""
    return {
        "occurrence": silence.occurrence,
        "start": rfc3339(silence.starts_at),
        "end": rfc3339(silence.ends_at),
        "state": silence.state.value,
        "silence_id": silence.silence_id,
        "matchers": silence.matchers,
        "attempts": silence.attempts,
        "last_error": silence.last_error,
        "updated_at": rfc3339(silence.updated_at),
    }


class _Figures(BaseModel):
    """What incidents did to the SLA: counts, and means on the SLA calendar (null if none)."""

    incidents: int
    response_breaches: int
    resolution_breaches: int
    mtta_seconds: float | None
    mttr_seconds: float | None


class PriorityFigures(_Figures):
    """One priority's figures; a ratio is null when nothing was measured."""

    priority: str
    response_measured: int
    response_met: int
    response_met_ratio: float | None
    resolution_measured: int
    resolution_met: int
    resolution_met_ratio: float | None


class ServiceFigures(_Ranged, _Figures):
    """One service's month: its period in its own time zone, availability and incidents."""

    service: str
    timezone: str
    total_seconds: float
    maintenance_seconds: float
    downtime_seconds: float
    degraded_seconds: float
    availability_ratio: float
    target_ratio: float
    met: bool
    error_budget_seconds: float
    error_budget_remaining_seconds: float
    warranty_extension_days: int
    unknown_seconds: float = Field(description="blind time, neither maintenance nor downtime")
    unknown_policy: Literal["up", "down", "excluded"]
    raw_downtime_seconds: float = Field(description="as measured, before adjustments")
    raw_availability_ratio: float = Field(description="as measured, before adjustments")
    adjustment_seconds: float = Field(description="adjusted downtime − raw downtime")
    credit_ratio: float = Field(ge=0, le=1, description="share of the monthly fee credited")
    month_state: Literal["open", "closed"] = Field(
        description="closed: the figures are the stored record's, adjusted"
    )
    closed_at: datetime | None
    closed_by: str | None
    priorities: list[PriorityFigures]


class ReportSummary(_Figures):
    """Every service together; `availability_ratio` is weighted by each one's time."""

    services: int
    services_met: int
    services_breached: int
    availability_ratio: float
    downtime_seconds: float
    maintenance_seconds: float
    degraded_seconds: float


class DayDowntime(BaseModel):
    day: date
    downtime_seconds: float


class Breach(BaseModel):
    """A response or resolution target missed; `done_at` is null while still pending."""

    incident_id: int
    service: str
    priority: str
    kind: Literal["response", "resolution"]
    title: str
    opened_at: datetime
    due_at: datetime
    done_at: datetime | None
    late_seconds: float


class ReportRecord(BaseModel):
    """The signed month: its state, the digests a copy is checked against, and what
    changed it (each row as in `availability.compliance`'s ADJUSTMENT_COLUMNS,
    DISPUTE_COLUMNS and PENDING_COLUMNS)."""

    state: Literal["open", "closed", "partly_closed"]
    digest: str | None = Field(description="SHA-256 of the closed records and adjustments")
    rules_digest: str | None = Field(description="SHA-256 of the rule file used")
    adjustments: list[dict[str, Any]]
    disputes: list[dict[str, Any]]
    changes_since_close: list[dict[str, Any]]
    policy: dict[str, Any] = Field(description="degraded weight, credit tiers, time zone")


class ComplianceReportResource(_Ranged):
    """The monthly compliance report (as JSON; also as CSV and HTML)."""

    month: str = Field(examples=["2026-11"])
    timezone: str
    generated_at: datetime
    summary: ReportSummary
    priorities: list[PriorityFigures] = Field(description="every service together")
    services: list[ServiceFigures]
    downtime_by_day: list[DayDowntime]
    breaches: list[Breach]
    record: ReportRecord
