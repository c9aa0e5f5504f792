"""The monthly report with the signed month in it.

A service whose month is closed reports its record: the stored row, priorities and
breaches, the figures adjusted by the applied adjustments (raw figures beside them), and
the credit of the adjusted figure. Open services are measured live. The `(all)` priority
rows, the summary and the per-day chart are made from those rows, so a closed month's
report changes only through adjustments. `record.digest` is `month_digest`: the SHA-256 of
the closed records' digests and the applied adjustments, which `slakeeper month show` and
`GET /api/v1/months/{month}` print, so a copy of the report can be checked against them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from availability.compliance import (
    ALL_SERVICES,
    BREACH_COLUMNS,
    DAY_COLUMNS,
    PRIORITY_COLUMNS,
    SERVICE_COLUMNS,
    ComplianceReport,
    SignedMonth,
)
from availability.intervals import Windows, total_per_bucket
from availability.periods import Period, day_edges, month_period, to_micros
from availability.report import usable_seconds
from availability.service import known_service_names
from ledger import store
from ledger.basis import adjusted_bases
from ledger.figures import adjusted_rows, month_digest
from ledger.listing import adjustment_rows, dispute_rows, pending_rows
from ledger.records import credits_json, measure_month
from rules.policy import RuleFile

__all__ = ["month_report"]

_TIMES = ("from", "to", "closed_at")


def month_report(
    session: Session, *, rules: RuleFile, year: int, month: int, now: datetime
) -> ComplianceReport:
    """The report of `year`-`month`: closed services from their records, the rest live."""
    name = f"{year:04d}-{month:02d}"
    records = {record.service: record for record in store.current_records(session, name)}
    if not records:
        # An open month: measured now, with the policy it is measured under.
        live, _ = measure_month(session, rules=rules, year=year, month=month, services=(), now=now)
        return replace(live, record=SignedMonth(rules_digest=rules.digest, policy=_policy(rules)))
    open_ = [n for n in known_service_names(session, rules=rules) if n not in records]
    # Every service closed: nothing to measure, the records say it all.
    live, figures = (
        measure_month(session, rules=rules, year=year, month=month, services=open_, now=now)
        if open_
        else (_empty_report(rules, year, month, now), {})
    )
    closed = adjusted_rows(session, list(records.values()))
    bases = adjusted_bases(session, list(records.values()))
    rows = [row for row in _rows(live.services) if row["service"] not in records]
    services = _frame([*rows, *closed.values()], SERVICE_COLUMNS)
    services = services.sort_values("service").reset_index(drop=True)
    for column in _TIMES:
        services[column] = pd.to_datetime(services[column], utc=True)
    segments = [
        list(bases[records[service].id].downtime)
        if service in records
        else figures[service]["segments"]["downtime"]
        for service in services["service"]
        if service in records or service in figures
    ]
    priorities = _priorities(live.priorities, records, rules)
    signed = SignedMonth(
        state="closed" if not open_ else "partly_closed",
        digest=month_digest(session, name, list(records.values())),
        rules_digest=next(iter(records.values())).rules_digest,
        adjustments=adjustment_rows(session, name),
        disputes=dispute_rows(session, name),
        pending=pending_rows(session, name),
        policy=_policy(rules),
    )
    return replace(
        live,
        generated_at=now,
        services=services,
        priorities=priorities,
        downtime_by_day=_days(segments, rules, live),
        breaches=_breaches(live.breaches, records),
        summary=_summary(services, priorities),
        record=signed,
    )


def _empty_report(rules: RuleFile, year: int, month: int, now: datetime) -> ComplianceReport:
    """A report of the month with no service in it: the frame the records fill."""
    period = month_period(year, month, rules.timezone, now=now)
    return ComplianceReport(
        month=f"{year:04d}-{month:02d}",
        timezone=rules.timezone.key,
        start=period.start,
        end=period.end,
        generated_at=now,
        services=_frame([], SERVICE_COLUMNS),
        priorities=_frame([], PRIORITY_COLUMNS),
        downtime_by_day=_frame([], DAY_COLUMNS),
        breaches=_frame([], BREACH_COLUMNS),
        summary={},
    )


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [dict(zip(frame.columns, row, strict=True)) for row in frame.itertuples(index=False)]


def _frame(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns))


def _priorities(live: pd.DataFrame, records: dict[str, Any], rules: RuleFile) -> pd.DataFrame:
    """Live rows of open services, stored rows of closed ones, `(all)` made from them."""
    kept = live[(live["service"] != ALL_SERVICES) & ~live["service"].isin(list(records))]
    stored = [row for record in records.values() for row in record.figures["priorities"]]
    per_service = pd.concat([kept, _frame(stored, PRIORITY_COLUMNS)], ignore_index=True)
    per_service = per_service.sort_values(["service"], kind="stable")
    ranks = {name: policy.rank for name, policy in rules.priorities.items()}
    overall = _overall(per_service, ranks)
    return pd.concat([per_service, overall], ignore_index=True).loc[:, list(PRIORITY_COLUMNS)]


def _overall(per_service: pd.DataFrame, ranks: dict[str, int]) -> pd.DataFrame:
    """Counts summed; ratios of the sums; mean times weighted by what each row measured."""
    counts = [
        "incidents",
        "response_measured",
        "response_met",
        "response_breaches",
        "resolution_measured",
        "resolution_met",
        "resolution_breaches",
    ]
    frame = per_service.copy()
    for column in counts:
        frame[column] = frame[column].fillna(0).astype(int)
    frame["mtta_weighted"] = frame["mtta_seconds"].astype(float) * frame["response_measured"]
    frame["mttr_weighted"] = frame["mttr_seconds"].astype(float) * frame["resolution_measured"]
    grouped = frame.groupby("priority", sort=False)[[*counts, "mtta_weighted", "mttr_weighted"]]
    sums = grouped.sum(min_count=1).reset_index()
    every = pd.DataFrame({"priority": sorted(ranks, key=ranks.__getitem__)})
    table = every.merge(sums, on="priority", how="outer")
    table[counts] = table[counts].fillna(0).astype(int)
    table["response_met_ratio"] = _share(table["response_met"], table["response_measured"])
    table["resolution_met_ratio"] = _share(table["resolution_met"], table["resolution_measured"])
    table["mtta_seconds"] = _share(table["mtta_weighted"], table["response_measured"])
    table["mttr_seconds"] = _share(table["mttr_weighted"], table["resolution_measured"])
    table["rank"] = table["priority"].map(ranks).fillna(len(ranks))
    table = table.sort_values(["rank", "priority"])
    table.insert(0, "service", ALL_SERVICES)
    return table.loc[:, list(PRIORITY_COLUMNS)]


def _share(part: pd.Series, whole: pd.Series) -> pd.Series:
    return (part.astype(float) / whole.where(whole > 0)).astype(float)


def _breaches(live: pd.DataFrame, records: dict[str, Any]) -> pd.DataFrame:
    kept = live[~live["service"].isin(list(records))]
    stored = _frame(
        [row for record in records.values() for row in record.figures["breaches"]],
        BREACH_COLUMNS,
    )
    for column in ("opened_at", "due_at", "done_at"):
        stored[column] = pd.to_datetime(stored[column], utc=True)
    stored["late_seconds"] = pd.to_numeric(stored["late_seconds"]).astype(float)
    table = pd.concat([kept, stored], ignore_index=True) if len(stored) else kept
    return table.sort_values(["due_at", "incident_id", "kind"]).reset_index(drop=True)


def _days(segments: list[Any], rules: RuleFile, live: ComplianceReport) -> pd.DataFrame:
    edges = day_edges(Period(live.start, live.end), rules.timezone)
    if len(edges) < 2:
        return _frame([], DAY_COLUMNS)
    pairs = [pair for listed in segments for pair in listed]
    windows = Windows.from_lists([0] * len(pairs), [s for s, _ in pairs], [e for _, e in pairs])
    totals = total_per_bucket(windows, np.array([to_micros(edge) for edge in edges], np.int64))
    return pd.DataFrame(
        {
            "day": [edge.astimezone(rules.timezone).date() for edge in edges[:-1]],
            "downtime_seconds": totals / 1_000_000,
        }
    )


def _summary(services: pd.DataFrame, priorities: pd.DataFrame) -> dict[str, Any]:
    usable = usable_seconds(services)
    lost = (usable * (1 - services["availability_ratio"])).sum()
    overall = priorities[priorities["service"] == ALL_SERVICES]
    measured_response = overall["response_measured"].sum()
    measured_resolution = overall["resolution_measured"].sum()
    return {
        "services": len(services),
        "services_met": int(services["met"].astype(bool).sum()),
        "services_breached": int((~services["met"].astype(bool)).sum()),
        "availability_ratio": float((usable.sum() - lost) / usable.sum())
        if usable.sum() > 0
        else 1.0,
        "downtime_seconds": float(services["downtime_seconds"].sum()),
        "maintenance_seconds": float(services["maintenance_seconds"].sum()),
        "degraded_seconds": float(services["degraded_seconds"].sum()),
        "incidents": int(overall["incidents"].sum()),
        "response_breaches": int(overall["response_breaches"].sum()),
        "resolution_breaches": int(overall["resolution_breaches"].sum()),
        "mtta_seconds": _mean(
            overall["mtta_seconds"], overall["response_measured"], measured_response
        ),
        "mttr_seconds": _mean(
            overall["mttr_seconds"], overall["resolution_measured"], measured_resolution
        ),
    }


def _mean(means: pd.Series, weights: pd.Series, total: float) -> float | None:
    known = means.notna()
    if not known.any() or weights[known].sum() == 0:
        return None
    return float((means[known] * weights[known]).sum() / weights[known].sum())


def _policy(rules: RuleFile) -> dict[str, Any]:
    default = rules.service("\0")
    return {
        "degraded_weight": rules.degraded_weight,
        "timezone": rules.timezone.key,
        "credits": credits_json(default.credits),
    }
