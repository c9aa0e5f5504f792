"""The compliance report as one self-contained HTML page, in English or Chinese: tables,
inline SVG charts, the signed month's record and the methodology.

Python words every figure (`report_words`) and lays the charts out (`report_charts`); the
Jinja template (`templates/report.html.j2`, its labels from the `report` catalogue) only
places them, with autoescape on, so names and titles from alert labels are escaped in
tables and charts alike. The page fits 1,200 px without scrolling sideways and prints on
A4 (`@page`), wide tables on landscape pages.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import pandas as pd

from availability.compliance import ALL_SERVICES, ComplianceReport
from availability.report_charts import (
    CHART_MAX_SERVICES,
    availability_chart,
    downtime_chart,
    priority_chart,
)
from availability.report_record import (
    adjustment_rows,
    credit,
    dispute_rows,
    methodology,
    month_record,
    pending_rows,
)
from availability.report_shapes import Figure
from availability.report_words import LANGUAGES, Words, missing, translations

__all__ = ["CHART_MAX_SERVICES", "LANGUAGES", "render_html"]


def render_html(report: ComplianceReport, *, lang: str = "en") -> str:
    """The report as one HTML page in `lang` ("en" or "zh-CN") that needs no other file,
    font or script. Raises `ValueError` for another language."""
    words = Words.of(lang, report.timezone)
    services: list[dict[str, Any]] = report.services.to_dict("records")
    priorities = report.priorities[report.priorities["service"] == ALL_SERVICES]
    priority_rows: list[dict[str, Any]] = priorities.to_dict("records")
    record = report.record
    return _template(lang).render(
        lang=lang,
        month=report.month,
        period=_period(report, words),
        record=month_record(report, words),
        figures=_figures(report, words),
        services=[_service_row(row, words, report.timezone) for row in services],
        availability_chart=availability_chart(services, words),
        downtime_chart=downtime_chart(report.downtime_by_day.to_dict("records"), words),
        priorities=[_priority_row(row, words) for row in priority_rows],
        priority_chart=priority_chart(priority_rows, words),
        breaches=[_breach_row(row, words) for row in _listed(report.breaches)],
        breaches_note=_breaches_note(report.breaches, words),
        adjustments=adjustment_rows(record.adjustments, words),
        disputes=dispute_rows(record.disputes, words),
        pending=pending_rows(record.pending, words),
        method=methodology(report, words),
    )


# The page lists at most this many breaches, those that ran latest (in due order): a month of
# 1,000 services may have thousands, and a printed page of each makes the PDF slow to print
# and no easier to read. The CSV and JSON list every one.
BREACHES_LISTED = 250


def _listed(breaches: pd.DataFrame) -> list[dict[str, Any]]:
    if len(breaches) > BREACHES_LISTED:
        late = pd.to_numeric(breaches["late_seconds"]).reset_index(drop=True)
        latest = late.nlargest(BREACHES_LISTED, keep="first")
        breaches = breaches.iloc[sorted(latest.index)]
    rows: list[dict[str, Any]] = breaches.to_dict("records")
    return rows


def _breaches_note(breaches: pd.DataFrame, words: Words) -> str | None:
    if len(breaches) <= BREACHES_LISTED:
        return None
    return words.gettext(
        "The %(shown)s breaches that ran latest of %(total)s, by due time; "
        "the CSV and JSON list every one."
    ) % {"shown": words.count(BREACHES_LISTED), "total": words.count(len(breaches))}


@cache
def _template(lang: str) -> jinja2.Template:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("availability", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    environment.install_gettext_translations(  # type: ignore[attr-defined]
        translations(lang), newstyle=True
    )
    return environment.get_template("report.html.j2")


def _with_offset(moment: datetime, words: Words) -> str:
    offset = moment.astimezone(ZoneInfo(words.zone)).strftime("%z")
    return f"{words.time(moment)} (UTC{offset[:3]}:{offset[3:]})"


def _period(report: ComplianceReport, words: Words) -> dict[str, str | None]:
    """The header's times; `month_ends` only while the month is still running."""
    zone = ZoneInfo(report.timezone)
    year, month = (int(part) for part in report.month.split("-"))
    month_end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    return {
        "start": _with_offset(report.start, words),
        "end": _with_offset(report.end, words),
        "month_ends": words.time(month_end) if report.end < month_end else None,
        "generated": words.time(report.generated_at),
        "timezone": report.timezone,
    }


def _figures(report: ComplianceReport, words: Words) -> list[Figure]:
    s, _ = report.summary, words.gettext
    downtime, maintenance = s["downtime_seconds"], s["maintenance_seconds"]
    services = report.services
    unknown = float(services["unknown_seconds"].fillna(0).sum()) if len(services) else 0.0
    credited = int((services["credit_ratio"].fillna(0) > 0).sum()) if len(services) else 0
    return [
        Figure(_("Services"), words.count(s["services"])),
        Figure(_("Met"), words.count(s["services_met"]), _("services at or above target")),
        Figure(
            _("Breached"), words.count(s["services_breached"]), _("services below target"), True
        ),
        Figure(
            _("Overall availability"),
            words.availability(s["availability_ratio"]),
            _("time-weighted"),
        ),
        Figure(_("Total downtime"), words.duration(downtime), words.seconds(downtime)),
        Figure(_("Maintenance"), words.duration(maintenance), words.seconds(maintenance)),
        Figure(_("Degraded"), words.duration(s["degraded_seconds"])),
        Figure(_("Unknown time"), words.duration(unknown), _("monitoring could not see")),
        Figure(_("Credits"), words.count(credited), _("services owed a credit"), True),
        Figure(_("Incidents"), words.count(s["incidents"]), _("opened in the period")),
        Figure(_("Response breaches"), words.count(s["response_breaches"]), alarm=True),
        Figure(_("Resolution breaches"), words.count(s["resolution_breaches"]), alarm=True),
        Figure(_("MTTA"), words.duration(s["mtta_seconds"]), _("mean time to acknowledge")),
        Figure(_("MTTR"), words.duration(s["mttr_seconds"]), _("mean time to resolve")),
    ]


def _adjusted(row: Mapping[str, Any], words: Words) -> dict[str, str | None]:
    """The measured (raw) figures beside the adjusted ones, where they differ."""
    adjustment: Any = row.get("adjustment_seconds")
    moved = not missing(adjustment) and round(float(adjustment)) != 0
    availability = words.availability(row["availability_ratio"])
    raw_availability = words.availability(row.get("raw_availability_ratio"))
    downtime = words.duration(row["downtime_seconds"])
    raw_downtime = words.duration(row.get("raw_downtime_seconds"))
    differs = moved or raw_downtime not in (downtime, "—")
    return {
        "availability": availability,
        "raw_availability": raw_availability
        if raw_availability not in (availability, "—")
        else None,
        "downtime": downtime,
        "raw_downtime": raw_downtime if differs else None,
        "adjustment": words.signed_seconds(adjustment) if moved else None,
    }


def _service_row(row: Mapping[str, Any], words: Words, report_zone: str) -> dict[str, Any]:
    remaining, state = row["error_budget_remaining_seconds"], row.get("month_state")
    credit_ratio: Any = row.get("credit_ratio")
    return _adjusted(row, words) | {
        "service": row["service"],
        "timezone": "" if row["timezone"] == report_zone else row["timezone"],
        "met": bool(row["met"]),
        "target": words.target(row["target_ratio"]),
        "credit": credit(credit_ratio, words),
        "credited": not missing(credit_ratio) and float(credit_ratio) > 0,
        "unknown": words.duration(row.get("unknown_seconds")),
        "unknown_policy": words.word("unknown_policy", row.get("unknown_policy")),
        "maintenance": words.duration(row["maintenance_seconds"]),
        "degraded": words.duration(row["degraded_seconds"]),
        "budget": words.duration(row["error_budget_seconds"]),
        "remaining": words.duration(remaining),
        "overspent": not missing(remaining) and round(float(remaining)) < 0,
        "warranty": words.count(row["warranty_extension_days"]),
        "incidents": words.count(row["incidents"]),
        "response_breaches": words.count(row["response_breaches"]),
        "resolution_breaches": words.count(row["resolution_breaches"]),
        "mtta": words.duration(row["mtta_seconds"]),
        "mttr": words.duration(row["mttr_seconds"]),
        "closed": state == "closed",
        "month_state": words.word("month_state", state),
        "closed_by": "" if missing(row.get("closed_by")) else str(row["closed_by"]),
        "closed_at": "" if missing(row.get("closed_at")) else words.time(row["closed_at"]),
    }


def _priority_row(row: Mapping[str, Any], words: Words) -> dict[str, Any]:
    return {
        "priority": row["priority"],
        "incidents": words.count(row["incidents"]),
        "response_met_ratio": words.share(row["response_met_ratio"]),
        "response_breaches": words.count(row["response_breaches"]),
        "resolution_met_ratio": words.share(row["resolution_met_ratio"]),
        "resolution_breaches": words.count(row["resolution_breaches"]),
        "mtta_seconds": words.duration(row["mtta_seconds"]),
        "mttr_seconds": words.duration(row["mttr_seconds"]),
    }


def _breach_row(row: Mapping[str, Any], words: Words) -> dict[str, Any]:
    return {
        "incident_id": "—" if missing(row["incident_id"]) else str(int(row["incident_id"])),
        "service": row["service"],
        "priority": row["priority"],
        "kind": words.word("kind", row["kind"]),
        "title": row["title"],
        "opened_at": words.time(row["opened_at"]),
        "due_at": words.time(row["due_at"]),
        "done_at": None if missing(row["done_at"]) else words.time(row["done_at"]),
        "late_seconds": words.duration(row["late_seconds"]),
    }
