"""The compliance report as JSON and as CSV (the HTML is `availability.html`)."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

import pandas as pd

from availability.compliance import ALL_SERVICES, SERVICE_COLUMNS, ComplianceReport
from core.wire import rfc3339

__all__ = ["records_of", "report_csv", "report_json"]

# The per-priority figures the CSV adds to each service's row, as `P1_incidents`, ...
_PRIORITY_FIGURES = (
    "incidents",
    "response_met_ratio",
    "response_breaches",
    "resolution_met_ratio",
    "resolution_breaches",
    "mtta_seconds",
    "mttr_seconds",
)


def _plain(value: Any) -> Any:
    """A JSON value: NaN and NaT become null, timestamps RFC 3339 in UTC, numpy scalars
    Python numbers."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return rfc3339(value.to_pydatetime())
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def records_of(frame: pd.DataFrame) -> list[dict[str, Any]]:
    columns = list(frame.columns)
    return [
        {column: _plain(value) for column, value in zip(columns, row, strict=True)}
        for row in frame.itertuples(index=False, name=None)
    ]


def report_json(report: ComplianceReport) -> dict[str, Any]:
    """The whole report: summary, services (each with its priorities), days, breaches, and
    the signed month's record."""
    by_service: dict[str, list[dict[str, Any]]] = {}
    for row in records_of(report.priorities):
        by_service.setdefault(row.pop("service"), []).append(row)
    services = [
        {**row, "priorities": by_service.get(row["service"], [])}
        for row in records_of(report.services)
    ]
    return {
        "month": report.month,
        "timezone": report.timezone,
        "from": rfc3339(report.start),
        "to": rfc3339(report.end),
        "generated_at": rfc3339(report.generated_at),
        "summary": {key: _plain(value) for key, value in report.summary.items()},
        "priorities": by_service.get(ALL_SERVICES, []),
        "services": services,
        "downtime_by_day": records_of(report.downtime_by_day),
        "breaches": records_of(report.breaches),
        "record": _record(report),
    }


def _record(report: ComplianceReport) -> dict[str, Any]:
    """The signed month: state, digests, adjustments, disputes, changes since close, policy."""
    record = report.record
    return {
        "state": record.state,
        "digest": record.digest,
        "rules_digest": record.rules_digest,
        "adjustments": records_of(record.adjustments),
        "disputes": records_of(record.disputes),
        "changes_since_close": records_of(record.pending),
        "policy": {key: _plain(value) for key, value in record.policy.items()},
    }


def report_csv(report: ComplianceReport) -> str:
    """One row per service, its priorities' figures as `P1_incidents`, ...; then a last row,
    service `(all)`, with the summary."""
    table = report.services.copy()
    priorities = report.priorities
    per_service = priorities[priorities["service"] != ALL_SERVICES]
    order = list(dict.fromkeys(priorities.loc[priorities["service"] == ALL_SERVICES, "priority"]))
    order += [name for name in dict.fromkeys(per_service["priority"]) if name not in order]
    wide = (
        per_service.pivot(index="service", columns="priority", values=list(_PRIORITY_FIGURES))
        if not per_service.empty
        else pd.DataFrame()
    )
    for priority in order:
        for figure in _PRIORITY_FIGURES:
            column = f"{priority}_{figure}"
            if (figure, priority) in wide.columns:
                values = table["service"].map(wide[(figure, priority)])
            else:
                values = pd.Series(float("nan"), index=table.index)
            if figure in ("incidents", "response_breaches", "resolution_breaches"):
                values = values.fillna(0).astype(int)
            table[column] = values.to_numpy()
    summary = report.summary
    total_row = {
        "service": ALL_SERVICES,
        "from": report.start,
        "to": report.end,
        "maintenance_seconds": summary["maintenance_seconds"],
        "downtime_seconds": summary["downtime_seconds"],
        "degraded_seconds": summary["degraded_seconds"],
        "availability_ratio": summary["availability_ratio"],
        "met": summary["services_breached"] == 0,
        "incidents": summary["incidents"],
        "response_breaches": summary["response_breaches"],
        "resolution_breaches": summary["resolution_breaches"],
        "mtta_seconds": summary["mtta_seconds"],
        "mttr_seconds": summary["mttr_seconds"],
    }
    for row in report.priorities[report.priorities["service"] == ALL_SERVICES].itertuples():
        for figure in _PRIORITY_FIGURES:
            total_row[f"{row.priority}_{figure}"] = getattr(row, figure)
    table = pd.concat([table, pd.DataFrame([total_row])], ignore_index=True)
    for column in ("from", "to"):
        table[column] = [_plain(value) for value in table[column]]
    # Counts stay integers where a row has none (the summary row has no warranty extension).
    for column in table.columns:
        if column in _COUNT_COLUMNS or column.endswith(_COUNT_SUFFIXES):
            table[column] = table[column].astype("Int64")
    for column in table.columns:
        if table[column].dtype == object or pd.api.types.is_string_dtype(table[column]):
            table[column] = [_inert(value) for value in table[column]]
    ordered = list(SERVICE_COLUMNS) + [c for c in table.columns if c not in SERVICE_COLUMNS]
    # CRLF, as RFC 4180 has it: a field holding a CR is then quoted too.
    text: str = table.loc[:, ordered].to_csv(index=False, lineterminator="\r\n")
    return text


_COUNT_COLUMNS = frozenset({"warranty_extension_days", "incidents"})
_COUNT_SUFFIXES = ("_incidents", "_breaches")
# What a spreadsheet reads as the start of a formula (OWASP, CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert(value: object) -> object:
    """A text cell a spreadsheet shows as text: one starting a formula gets a leading `'`."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value
