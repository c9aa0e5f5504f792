"""The monthly compliance report: every service's month, tabulated with pandas.

Each service's month runs in its own time zone (a service in Shanghai and one in Berlin
start November eight hours apart); the per-day chart uses the rule file's time zone.
Incidents count in the month of their service in which they opened.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from availability import store
from availability.compliance import (
    ALL_SERVICES,
    BREACH_COLUMNS,
    DAY_COLUMNS,
    PRIORITY_COLUMNS,
    SERVICE_COLUMNS,
    ComplianceReport,
)
from availability.credits import credit_ratios
from availability.figures import MICROS_PER_SECOND, availability_table
from availability.intervals import total_per_bucket
from availability.periods import Period, PeriodInFuture, day_edges, month_period, to_micros
from availability.service import Measurement, measure_services
from rules.policy import RuleFile

__all__ = ["build_report", "measured_report", "usable_seconds"]


def build_report(
    session: Session, *, rules: RuleFile, year: int, month: int, now: datetime
) -> ComplianceReport:
    """The report of `year`-`month` for every known service; this month ends at `now`.

    Raises `PeriodInFuture` for a month that has not begun in the rule file's time zone.
    """
    return measured_report(session, rules=rules, year=year, month=month, now=now)[0]


def measured_report(
    session: Session, *, rules: RuleFile, year: int, month: int, now: datetime
) -> tuple[ComplianceReport, Measurement | None]:
    """`build_report`, and what it measured (None when no service is known): a closed
    month stores the measured intervals themselves."""
    period = month_period(year, month, rules.timezone, now=now)
    names = sorted(set(rules.services) | store.known_services(session))
    periods = [_service_month(rules, name, year, month, now) for name in names]
    measurement = (
        measure_services(session, rules=rules, services=names, periods=periods, now=now)
        if names
        else None
    )
    services = _availability(measurement, rules)
    incidents = _incidents(session, names, periods, since=period.start, until=period.end)
    priorities = _priorities(incidents, rules)
    services = _with_incident_figures(services, incidents)
    days = _downtime_by_day(measurement, rules)
    breaches = _breaches(incidents, end=period.end)
    report = ComplianceReport(
        month=f"{year:04d}-{month:02d}",
        timezone=rules.timezone.key,
        start=period.start,
        end=period.end,
        generated_at=now,
        services=services,
        priorities=priorities,
        downtime_by_day=days,
        breaches=breaches,
        summary=_summary(services, incidents),
    )
    return report, measurement


def _service_month(rules: RuleFile, name: str, year: int, month: int, now: datetime) -> Period:
    try:
        return month_period(year, month, rules.service(name).timezone, now=now)
    except PeriodInFuture:
        # Its month has not begun where the service is (east of the report's zone at the
        # turn of the month): nothing to measure yet.
        return Period(now, now)


def _availability(measurement: Measurement | None, rules: RuleFile) -> pd.DataFrame:
    if measurement is None:
        return pd.DataFrame(columns=list(SERVICE_COLUMNS))
    names, periods, measured = measurement.services, measurement.periods, measurement.measured
    table = availability_table(
        measured.total,
        measured.maintenance,
        measured.downtime,
        measured.degraded,
        target_ratio=measurement.targets,
        degraded_weight=rules.degraded_weight,
        unknown_us=measured.unknown,
        unknown_policy=measurement.unknown_policies,
    )
    return pd.DataFrame(
        {
            "service": names,
            "timezone": [rules.service(name).timezone.key for name in names],
            "from": [period.start for period in periods],
            "to": [period.end for period in periods],
            "total_seconds": measured.total / MICROS_PER_SECOND,
            "maintenance_seconds": measured.maintenance / MICROS_PER_SECOND,
            "downtime_seconds": measured.downtime / MICROS_PER_SECOND,
            "degraded_seconds": measured.degraded / MICROS_PER_SECOND,
            "availability_ratio": table.availability_ratio,
            "target_ratio": table.target_ratio,
            "met": table.met,
            "error_budget_seconds": table.error_budget_us / MICROS_PER_SECOND,
            "error_budget_remaining_seconds": table.error_budget_remaining_us / MICROS_PER_SECOND,
            "warranty_extension_days": table.warranty_extension_days,
            "unknown_seconds": measured.unknown / MICROS_PER_SECOND,
            "unknown_policy": measurement.unknown_policies,
            "raw_downtime_seconds": measured.downtime / MICROS_PER_SECOND,
            "raw_availability_ratio": table.availability_ratio,
            "adjustment_seconds": 0.0,
            "credit_ratio": credit_ratios(table.availability_ratio, measurement.credits),
            "month_state": "open",
            "closed_at": pd.NaT,
            "closed_by": None,
        }
    )


def _incidents(
    session: Session, names: list[str], periods: list[Period], *, since: datetime, until: datetime
) -> pd.DataFrame:
    """The incidents opened in their service's month."""
    if not names:
        return pd.DataFrame(columns=list(store.INCIDENT_COLUMNS))
    earliest = min([since, *(period.start for period in periods)])
    latest = max([until, *(period.end for period in periods)])
    frame = store.load_incidents(session, since=earliest, until=latest)
    bounds = pd.DataFrame(
        {
            "service": names,
            "month_start": pd.to_datetime([period.start for period in periods], utc=True),
            "month_end": pd.to_datetime([period.end for period in periods], utc=True),
        }
    )
    for column in (
        "opened_at",
        "acknowledged_at",
        "resolved_at",
        "response_due_at",
        "resolution_due_at",
    ):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame = frame.merge(bounds, on="service", how="inner")
    inside = (frame["opened_at"] >= frame["month_start"]) & (
        frame["opened_at"] < frame["month_end"]
    )
    frame = frame[inside].drop(columns=["month_start", "month_end"]).reset_index(drop=True)
    frame["response_breached"] = frame["response_breached"].astype(bool)
    frame["resolution_breached"] = frame["resolution_breached"].astype(bool)
    frame["response_seconds"] = frame["response_seconds"].astype(float)
    frame["resolution_seconds"] = frame["resolution_seconds"].astype(float)
    return frame


def _compliance(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Incident counts, SLA compliance and mean times per `keys` group."""
    marks = frame.assign(
        response_measured=frame["response_seconds"].notna() | frame["response_breached"],
        response_met=frame["response_seconds"].notna() & ~frame["response_breached"],
        resolution_measured=frame["resolution_seconds"].notna() | frame["resolution_breached"],
        resolution_met=frame["resolution_seconds"].notna() & ~frame["resolution_breached"],
    )
    grouped = marks.groupby(keys, sort=False).agg(
        incidents=("id", "size"),
        response_measured=("response_measured", "sum"),
        response_met=("response_met", "sum"),
        response_breaches=("response_breached", "sum"),
        resolution_measured=("resolution_measured", "sum"),
        resolution_met=("resolution_met", "sum"),
        resolution_breaches=("resolution_breached", "sum"),
        mtta_seconds=("response_seconds", "mean"),
        mttr_seconds=("resolution_seconds", "mean"),
    )
    grouped["response_met_ratio"] = _share(grouped["response_met"], grouped["response_measured"])
    grouped["resolution_met_ratio"] = _share(
        grouped["resolution_met"], grouped["resolution_measured"]
    )
    return grouped.reset_index()


def _share(part: pd.Series, whole: pd.Series) -> pd.Series:
    return (part / whole.where(whole > 0)).astype(float)


def _priorities(incidents: pd.DataFrame, rules: RuleFile) -> pd.DataFrame:
    """Per service and priority, then every priority of the rule file for all services."""
    ranks = {name: policy.rank for name, policy in rules.priorities.items()}
    per_service = _compliance(incidents, ["service", "priority"])
    per_service["rank"] = per_service["priority"].map(ranks).fillna(len(ranks))
    per_service = per_service.sort_values(["service", "rank", "priority"])
    every = pd.DataFrame({"priority": sorted(ranks, key=ranks.__getitem__)})
    # A priority no longer in the rule file still shows, after the others.
    overall = every.merge(_compliance(incidents, ["priority"]), on="priority", how="outer")
    overall["rank"] = overall["priority"].map(ranks).fillna(len(ranks))
    overall = overall.sort_values(["rank", "priority"])
    overall.insert(0, "service", ALL_SERVICES)
    table = pd.concat([per_service, overall], ignore_index=True)
    counts = [
        "incidents",
        "response_measured",
        "response_met",
        "response_breaches",
        "resolution_measured",
        "resolution_met",
        "resolution_breaches",
    ]
    table[counts] = table[counts].fillna(0).astype(int)
    return table.loc[:, list(PRIORITY_COLUMNS)].reset_index(drop=True)


def _with_incident_figures(services: pd.DataFrame, incidents: pd.DataFrame) -> pd.DataFrame:
    per_service = _compliance(incidents, ["service"]).set_index("service")
    figures = per_service.reindex(services["service"]).reset_index(drop=True)
    counts = ("incidents", "response_breaches", "resolution_breaches")
    for column in counts:
        services[column] = figures[column].fillna(0).astype(int).to_numpy()
    services["mtta_seconds"] = figures["mtta_seconds"].astype(float).to_numpy()
    services["mttr_seconds"] = figures["mttr_seconds"].astype(float).to_numpy()
    return services.loc[:, list(SERVICE_COLUMNS)]


def _downtime_by_day(measurement: Measurement | None, rules: RuleFile) -> pd.DataFrame:
    """The downtime of the table, by day of the rule file's zone: the chart adds up to the
    table (a service in another zone may add a partial day at either end)."""
    if measurement is None:
        return pd.DataFrame(columns=list(DAY_COLUMNS))
    span = Period(
        min(period.start for period in measurement.periods),
        max(period.end for period in measurement.periods),
    )
    edges = day_edges(span, rules.timezone)
    if len(edges) < 2:
        return pd.DataFrame(columns=list(DAY_COLUMNS))
    totals = total_per_bucket(
        measurement.measured.downtime_segments,
        np.array([to_micros(edge) for edge in edges], dtype=np.int64),
    )
    return pd.DataFrame(
        {
            "day": [edge.astimezone(rules.timezone).date() for edge in edges[:-1]],
            "downtime_seconds": totals / MICROS_PER_SECOND,
        }
    )


def _breaches(incidents: pd.DataFrame, *, end: datetime) -> pd.DataFrame:
    if incidents.empty:  # its columns have no dtype to compute with (a fresh install)
        return pd.DataFrame(columns=list(BREACH_COLUMNS))
    responded = incidents[["acknowledged_at", "resolved_at"]].min(axis=1)
    parts = []
    for kind, due, done in (
        ("response", "response_due_at", responded),
        ("resolution", "resolution_due_at", incidents["resolved_at"]),
    ):
        chosen = incidents[f"{kind}_breached"].to_numpy(dtype=bool)
        part = incidents.loc[chosen, ["id", "service", "priority", "title", "opened_at"]]
        part = part.rename(columns={"id": "incident_id"})
        part["kind"] = kind
        part["due_at"] = incidents.loc[chosen, due]
        part["done_at"] = pd.to_datetime(done[chosen], utc=True)
        finished = part["done_at"].fillna(pd.Timestamp(end))
        part["late_seconds"] = (finished - part["due_at"]).dt.total_seconds()
        parts.append(part)
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if table.empty:
        return pd.DataFrame(columns=list(BREACH_COLUMNS))
    table = table.sort_values(["due_at", "incident_id", "kind"])
    return table.loc[:, list(BREACH_COLUMNS)].reset_index(drop=True)


def usable_seconds(services: pd.DataFrame) -> pd.Series:
    """Each service's usable time T − M', M' its maintenance and, under the `excluded`
    policy, its unknown time: what its availability ratio is a share of."""
    excluded = services["unknown_policy"] == "excluded"
    unknown = services["unknown_seconds"].where(excluded, 0.0)
    return services["total_seconds"] - services["maintenance_seconds"] - unknown


def _summary(services: pd.DataFrame, incidents: pd.DataFrame) -> dict[str, Any]:
    each = usable_seconds(services)
    usable = each.sum()
    lost = (each * (1 - services["availability_ratio"])).sum()
    return {
        "services": len(services),
        "services_met": int(services["met"].sum()),
        "services_breached": int((~services["met"].astype(bool)).sum()),
        "availability_ratio": float((usable - lost) / usable) if usable > 0 else 1.0,
        "downtime_seconds": float(services["downtime_seconds"].sum()),
        "maintenance_seconds": float(services["maintenance_seconds"].sum()),
        "degraded_seconds": float(services["degraded_seconds"].sum()),
        "incidents": len(incidents),
        "response_breaches": int(incidents["response_breached"].sum()),
        "resolution_breaches": int(incidents["resolution_breached"].sum()),
        "mtta_seconds": _mean(incidents["response_seconds"]),
        "mttr_seconds": _mean(incidents["resolution_seconds"]),
    }


def _mean(values: pd.Series) -> float | None:
    mean = values.astype(float).mean()
    return None if pd.isna(mean) else float(mean)
