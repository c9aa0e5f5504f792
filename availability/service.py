"""Availability figures and service states from the database, and maintenance planning.

Functions take the session first, the rule file and `now` as arguments; the arithmetic is
`availability.intervals` and `availability.figures`, measured for many services at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from pydantic import ValidationError
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from availability import store
from availability.blind import blind_windows
from availability.figures import Availability, availability_of
from availability.intervals import Measured, Windows, measure
from availability.live import service_states
from availability.maintenance import MaintenanceDefinition, Origin, from_rule_file, occurrences
from availability.models import MaintenanceWindow
from availability.periods import Period, month_period, to_micros
from collector.models import AlertInstance
from core.wire import rfc3339
from incident.models import Incident
from rules.policy import CreditPolicy, RuleFile
from rules.schema import Impact, MaintenanceSpec

__all__ = [
    "InvalidMaintenanceWindow",
    "MaintenanceWindowNotFound",
    "Measurement",
    "ServiceState",
    "UnknownService",
    "availability_resource",
    "cancel_maintenance",
    "is_known",
    "impact_windows",
    "known_service_names",
    "maintenance_definitions",
    "measure_services",
    "month_of",
    "occurrences_of",
    "plan_maintenance",
    "planned_window",
    "require_known",
    "service_availability",
    "services_overview",
]


class UnknownService(LookupError):
    """No rule file entry, alert, incident or maintenance window names the service."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no service {name!r}")
        self.name = name


class MaintenanceWindowNotFound(LookupError):
    """No maintenance window entered through the API has this id (or it was cancelled)."""

    def __init__(self, window_id: int) -> None:
        super().__init__(f"no maintenance window {window_id}")
        self.window_id = window_id


class InvalidMaintenanceWindow(ValueError):
    """A window the rule file's schema refuses; `error` says what is wrong with it."""

    def __init__(self, error: ValidationError) -> None:
        super().__init__("invalid maintenance window")
        self.error = error


def month_of(year: int, month: int, timezone: ZoneInfo, *, now: datetime) -> Period:
    """The calendar month in `timezone`; this month ends at `now`."""
    return month_period(year, month, timezone, now=now)


def maintenance_definitions(
    session: Session, *, rules: RuleFile, name: str | None = None
) -> list[MaintenanceDefinition]:
    """The rule file's windows, then those entered through the API; of one service or all."""
    listed = from_rule_file(rules.maintenance)
    if name is not None:
        listed = [definition for definition in listed if definition.service == name]
    return listed + store.load_maintenance(session, service=name)


def occurrences_of(
    definition: MaintenanceDefinition, rules: RuleFile, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The occurrences of a window in [start, end), in its service's time zone."""
    timezone = rules.service(definition.service).timezone
    return occurrences(definition, timezone=timezone, start=start, end=end)


def planned_window(fields: Mapping[str, Any]) -> MaintenanceDefinition:
    """The window an API request plans, checked as a rule file's `maintenance` entry is.

    Raises InvalidMaintenanceWindow for one the rule file could not hold either.
    """
    try:
        spec = MaintenanceSpec.model_validate(fields)
    except ValidationError as error:
        raise InvalidMaintenanceWindow(error) from None
    return MaintenanceDefinition(
        service=spec.service,
        origin=Origin.API,
        reason=spec.reason,
        start=spec.start,
        end=spec.end,
        cron=spec.cron,
        duration=spec.duration.value if spec.duration is not None else None,
    )


def plan_maintenance(
    session: Session, definition: MaintenanceDefinition, *, actor: str, now: datetime
) -> MaintenanceDefinition:
    """Store a window entered through the API."""
    return store.add_maintenance(session, definition, actor=actor, now=now)


def cancel_maintenance(session: Session, window_id: int, *, actor: str, now: datetime) -> None:
    """Delete a window entered through the API (kept, marked deleted).

    Raises MaintenanceWindowNotFound if there is none to delete.
    """
    if not store.delete_maintenance(session, window_id, actor=actor, now=now):
        raise MaintenanceWindowNotFound(window_id)


def require_known(session: Session, *, rules: RuleFile, name: str) -> None:
    """UnknownService unless `is_known`."""
    if not is_known(session, rules=rules, name=name):
        raise UnknownService(name)


def is_known(session: Session, *, rules: RuleFile, name: str) -> bool:
    """Whether the rule file lists the service, or an alert, incident or window names it."""
    if name in rules.services:
        return True
    return bool(
        session.scalar(
            select(
                exists().where(AlertInstance.service == name)
                | exists().where(Incident.service == name)
                | exists().where(
                    (MaintenanceWindow.service == name) & MaintenanceWindow.deleted_at.is_(None)
                )
            )
        )
    )


@dataclass(frozen=True)
class Measurement:
    """Times measured for n services, each over its own period (same order as `services`),
    with what each service's figures need of its policy."""

    services: list[str]
    periods: list[Period]
    measured: Measured
    targets: np.ndarray[Any, np.dtype[np.float64]]
    maintenance: Windows  # the planned windows measured (occurrences, as planned)
    unknown_policies: list[str] = field(default_factory=list)  # "up" | "down" | "excluded"
    credits: list[CreditPolicy] = field(default_factory=list)


def measure_services(
    session: Session,
    *,
    rules: RuleFile,
    services: Sequence[str],
    periods: Sequence[Period],
    now: datetime,
) -> Measurement:
    """Downtime, degraded, unknown time and maintenance of `services`, each over its period."""
    names = list(services)
    if not names:
        raise ValueError("no services to measure")
    starts = np.array([to_micros(period.start) for period in periods], dtype=np.int64)
    ends = np.array([to_micros(period.end) for period in periods], dtype=np.int64)
    outage, degraded, maintenance = impact_windows(session, rules, names, list(periods), now=now)
    blind = blind_windows(session, heartbeat=rules.heartbeat, periods=periods, now=now)
    measured = measure(
        starts, ends, outage=outage, degraded=degraded, maintenance=maintenance, unknown=blind
    )
    policies = [rules.service(name) for name in names]
    return Measurement(
        names,
        list(periods),
        measured,
        np.array([policy.target_ratio for policy in policies], dtype=np.float64),
        maintenance,
        [policy.unknown_policy for policy in policies],
        [policy.credits for policy in policies],
    )


def _maintenance_windows(
    session: Session, rules: RuleFile, names: list[str], periods: Sequence[Period]
) -> Windows:
    index = {name: position for position, name in enumerate(names)}
    group: list[int] = []
    start: list[int] = []
    end: list[int] = []
    for definition in maintenance_definitions(session, rules=rules):
        position = index.get(definition.service)
        if position is None:
            continue
        period = periods[position]
        for begins, finishes in occurrences_of(definition, rules, period.start, period.end):
            group.append(position)
            start.append(to_micros(begins))
            end.append(to_micros(finishes))
    return Windows.from_lists(group, start, end)


def service_availability(
    session: Session, *, rules: RuleFile, name: str, period: Period, now: datetime
) -> Availability:
    """The availability figures of one service over `period`."""
    measurement = measure_services(session, rules=rules, services=[name], periods=[period], now=now)
    measured = measurement.measured
    return availability_of(
        name,
        period,
        total_us=int(measured.total[0]),
        maintenance_us=int(measured.maintenance[0]),
        downtime_us=int(measured.downtime[0]),
        degraded_us=int(measured.degraded[0]),
        target_ratio=float(measurement.targets[0]),
        degraded_weight=rules.degraded_weight,
        unknown_us=int(measured.unknown[0]),
        unknown_policy=measurement.unknown_policies[0],
        credits=measurement.credits[0],
    )


def availability_resource(figures: Availability) -> dict[str, Any]:
    """The availability fields of the API, plus warranty extension days."""
    return {
        "service": figures.service,
        "from": rfc3339(figures.start),
        "to": rfc3339(figures.end),
        "total_seconds": figures.total_seconds,
        "maintenance_seconds": figures.maintenance_seconds,
        "downtime_seconds": figures.downtime_seconds,
        "degraded_seconds": figures.degraded_seconds,
        "availability_ratio": figures.availability_ratio,
        "target_ratio": figures.target_ratio,
        "met": figures.met,
        "error_budget_seconds": figures.error_budget_seconds,
        "error_budget_remaining_seconds": figures.error_budget_remaining_seconds,
        "warranty_extension_days": figures.warranty_extension_days,
        "unknown_seconds": figures.unknown_seconds,
        "unknown_policy": figures.unknown_policy,
        "credit_ratio": figures.credit_ratio,
    }


@dataclass(frozen=True)
class ServiceState:
    """A service now: `down` (an outage outside maintenance), `maintenance`, `degraded`
    or `up`; and its active incidents."""

    name: str
    state: str
    target_ratio: float
    timezone: str
    open_incidents: int
    open_by_priority: dict[str, int]
    listed: bool  # in the rule file's `services`

    def resource(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state,
            "up": self.state != "down",
            "target_ratio": self.target_ratio,
            "timezone": self.timezone,
            "open_incidents": self.open_incidents,
            "open_incidents_by_priority": self.open_by_priority,
            "listed": self.listed,
        }


def services_overview(session: Session, *, rules: RuleFile, now: datetime) -> list[ServiceState]:
    """Every known service with its state now, by name."""
    names = known_service_names(session, rules=rules)
    if not names:
        return []
    outage, degraded, maintenance = impact_windows(
        session, rules, names, [Period(now - TICK, now + TICK)] * len(names), now=now
    )
    current = service_states(outage, degraded, maintenance, n=len(names), now_us=to_micros(now))
    open_counts: dict[str, dict[str, int]] = {}
    counts = store.open_incident_counts(session)
    for (name, priority), count in counts.groupby(["service", "priority"])["count"].sum().items():
        open_counts.setdefault(name, {})[priority] = int(count)
    states = []
    for name, state in zip(names, current, strict=True):
        by_priority = open_counts.get(name, {})
        policy = rules.service(name)
        states.append(
            ServiceState(
                name=name,
                state=state.value,
                target_ratio=policy.target_ratio,
                timezone=policy.timezone.key,
                open_incidents=sum(by_priority.values()),
                open_by_priority=by_priority,
                listed=name in rules.services,
            )
        )
    return states


def known_service_names(session: Session, *, rules: RuleFile) -> list[str]:
    """The rule file's services and every service an alert, incident or window names."""
    return sorted(set(rules.services) | store.known_services(session))


def impact_windows(
    session: Session, rules: RuleFile, names: list[str], periods: list[Period], *, now: datetime
) -> tuple[Windows, Windows, Windows]:
    """Outage, degraded and maintenance windows of `names`, each service's in its period,
    grouped by the service's index in `names`."""
    if not names:
        return Windows.empty(), Windows.empty(), Windows.empty()
    frame = store.load_impact_windows(
        session,
        since=min(period.start for period in periods),
        until=max(period.end for period in periods),
        now=now,
        # Many services: read every window and drop the others here (one scan beats a
        # long IN list); few: read only theirs, through the index.
        services=None if len(names) > 500 else names,
    ).frame
    group = pd.Categorical(frame["service"], categories=names).codes.astype(np.int64)
    known = group >= 0
    starts, ends = frame["start"].to_numpy(np.int64), frame["end"].to_numpy(np.int64)

    def of(impact: Impact) -> Windows:
        chosen = known & (frame["impact"] == impact.value).to_numpy()
        return Windows(group[chosen], starts[chosen], ends[chosen])

    maintenance = _maintenance_windows(session, rules, names, periods)
    return of(Impact.OUTAGE), of(Impact.DEGRADED), maintenance


# The smallest period that contains `now`.
TICK = timedelta(microseconds=1)
