"""The compliance report as one self-contained HTML page: tables and inline SVG charts.

Python lays the charts out (positions, ticks, labels); the Jinja template
(`templates/report.html.j2`) only draws them, with autoescape on, so names and titles from
alert labels are escaped in tables and charts alike. Figures are pre-formatted here:
availability is rounded down (a page never shows more than was achieved), durations read
"3 h 36 min 5 s", and a missing value reads "—".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import pandas as pd

from availability.compliance import ALL_SERVICES, ComplianceReport
from availability.report_shapes import (
    BAR,
    COLUMNS_BOTTOM,
    COLUMNS_LEFT,
    COLUMNS_RIGHT,
    COLUMNS_TOP,
    PLOT_LEFT,
    PLOT_RIGHT,
    ROW,
    Bar,
    BarChart,
    Column,
    ColumnChart,
    Figure,
    Tick,
)

__all__ = ["CHART_MAX_SERVICES", "render_html"]

CHART_MAX_SERVICES = 40  # the availability chart shows at most this many, the lowest
DASH = "—"
NBSP = "\u00a0"  # between a number and its unit, so that a line never breaks there
NAME_CHARS = 32  # longer names are cut short in charts (their tooltip has them whole)


def render_html(report: ComplianceReport) -> str:
    """The report as one HTML page that needs no other file, font or script."""
    zone = ZoneInfo(report.timezone)
    services: list[dict[str, Any]] = report.services.to_dict("records")
    priorities = report.priorities[report.priorities["service"] == ALL_SERVICES]
    priority_rows: list[dict[str, Any]] = priorities.to_dict("records")
    return _template().render(
        month=report.month,
        period=_period(report, zone),
        figures=_figures(report.summary),
        services=[_service_row(row, report.timezone) for row in services],
        availability_chart=_availability_chart(services),
        downtime_chart=_downtime_chart(report.downtime_by_day.to_dict("records")),
        priorities=[_priority_row(row) for row in priority_rows],
        priority_chart=_priority_chart(priority_rows),
        breaches=[_breach_row(row, zone) for row in report.breaches.to_dict("records")],
    )


@cache
def _template() -> jinja2.Template:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("availability", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template("report.html.j2")


# Formatting ------------------------------------------------------------------------------


def _missing(value: Any) -> bool:
    return value is None or bool(pd.isna(value))


def _availability(ratio: Any) -> str:
    """Percent with 3 decimals, rounded down: 0.999996 is 99.999 %, never 100.000 %."""
    if _missing(ratio):
        return DASH
    floored = math.floor(float(ratio) * 100_000 + 1e-6) / 1000
    return f"{floored:.3f}{NBSP}%"


def _target(ratio: Any) -> str:
    """Percent with 3 decimals, or as many as the target has (99.9995 %)."""
    if _missing(ratio):
        return DASH
    percent = float(ratio) * 100
    text = f"{percent:.3f}"
    if abs(float(text) - percent) > 1e-9:
        text = f"{percent:.6f}".rstrip("0")
    return f"{text}{NBSP}%"


def _share(ratio: Any) -> str:
    return DASH if _missing(ratio) else f"{float(ratio) * 100:.1f}{NBSP}%"


def _count(value: Any) -> str:
    return DASH if _missing(value) else f"{int(value):,}"


def _duration(seconds: Any) -> str:
    """Whole days, hours, minutes and seconds, the zero ones left out: "3 h 36 min 5 s"."""
    if _missing(seconds):
        return DASH
    total = round(float(seconds))
    rest = abs(total)
    days, rest = divmod(rest, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    units = ((days, "d"), (hours, "h"), (minutes, "min"), (secs, "s"))
    text = " ".join(f"{value}{NBSP}{unit}" for value, unit in units if value) or f"0{NBSP}s"
    return f"−{text}" if total < 0 else text


def _seconds(seconds: Any) -> str:
    """Whole seconds beside a duration of a minute or more: "12,965 s"."""
    if _missing(seconds) or abs(round(float(seconds))) < 60:
        return ""
    return f"{round(float(seconds)):,}{NBSP}s"


def _time(moment: Any, zone: ZoneInfo) -> str | None:
    if _missing(moment):
        return None
    local: datetime = moment.astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M")


def _time_with_offset(moment: datetime, zone: ZoneInfo) -> str:
    offset = moment.astimezone(zone).strftime("%z")
    return f"{_time(moment, zone)} (UTC{offset[:3]}:{offset[3:]})"


# Sections --------------------------------------------------------------------------------


def _period(report: ComplianceReport, zone: ZoneInfo) -> dict[str, str | None]:
    """The header's times; `month_ends` only while the month is still running."""
    year, month = (int(part) for part in report.month.split("-"))
    month_end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    return {
        "start": _time_with_offset(report.start, zone),
        "end": _time_with_offset(report.end, zone),
        "month_ends": _time(month_end, zone) if report.end < month_end else None,
        "generated": _time(report.generated_at, zone),
        "timezone": report.timezone,
    }


def _figures(summary: Mapping[str, Any]) -> list[Figure]:
    s = summary
    downtime, maintenance = s["downtime_seconds"], s["maintenance_seconds"]
    return [
        Figure("Services", _count(s["services"])),
        Figure("Met", _count(s["services_met"]), "services at or above target"),
        Figure("Breached", _count(s["services_breached"]), "services below target", alarm=True),
        Figure("Overall availability", _availability(s["availability_ratio"]), "time-weighted"),
        Figure("Total downtime", _duration(downtime), _seconds(downtime)),
        Figure("Maintenance", _duration(maintenance), _seconds(maintenance)),
        Figure("Degraded", _duration(s["degraded_seconds"])),
        Figure("Incidents", _count(s["incidents"]), "opened in the period"),
        Figure("Response breaches", _count(s["response_breaches"]), alarm=True),
        Figure("Resolution breaches", _count(s["resolution_breaches"]), alarm=True),
        Figure("MTTA", _duration(s["mtta_seconds"]), "mean time to acknowledge"),
        Figure("MTTR", _duration(s["mttr_seconds"]), "mean time to resolve"),
    ]


def _cells(row: Mapping[str, Any], formats: Mapping[str, Callable[[Any], str]]) -> dict[str, Any]:
    return {column: format_(row[column]) for column, format_ in formats.items()}


SERVICE_CELLS = {
    "availability_ratio": _availability,
    "target_ratio": _target,
    **dict.fromkeys(("downtime_seconds", "maintenance_seconds", "degraded_seconds"), _duration),
    **dict.fromkeys(("error_budget_seconds", "error_budget_remaining_seconds"), _duration),
    **dict.fromkeys(("warranty_extension_days", "incidents"), _count),
    **dict.fromkeys(("response_breaches", "resolution_breaches"), _count),
    **dict.fromkeys(("mtta_seconds", "mttr_seconds"), _duration),
}
PRIORITY_CELLS = {
    "incidents": _count,
    **dict.fromkeys(("response_met_ratio", "resolution_met_ratio"), _share),
    **dict.fromkeys(("response_breaches", "resolution_breaches"), _count),
    **dict.fromkeys(("mtta_seconds", "mttr_seconds"), _duration),
}


def _service_row(row: Mapping[str, Any], report_timezone: str) -> dict[str, Any]:
    remaining = row["error_budget_remaining_seconds"]
    return _cells(row, SERVICE_CELLS) | {
        "service": row["service"],
        "timezone": "" if row["timezone"] == report_timezone else row["timezone"],
        "met": bool(row["met"]),
        "overspent": not _missing(remaining) and round(float(remaining)) < 0,
    }


def _priority_row(row: Mapping[str, Any]) -> dict[str, Any]:
    return _cells(row, PRIORITY_CELLS) | {"priority": row["priority"]}


def _breach_row(row: Mapping[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    times = {column: _time(row[column], zone) for column in ("opened_at", "due_at", "done_at")}
    return {
        **{column: row[column] for column in ("service", "priority", "kind", "title")},
        **times,
        "incident_id": DASH if _missing(row["incident_id"]) else str(int(row["incident_id"])),
        "late_seconds": _duration(row["late_seconds"]),
    }


# Charts ----------------------------------------------------------------------------------


def _nice_step(raw: float) -> float:
    """The smallest of 1, 2, 2.5 and 5 times a power of ten that is at least `raw`."""
    magnitude = 10.0 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))


def _tick_label(value: float, step: float) -> str:
    decimals = next(d for d in range(10) if abs(round(step, d) - step) < 1e-9 * step)
    return f"{value:.{decimals}f}"


def _short(name: str) -> str:
    return name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…"


def _availability_axis(lowest_percent: float) -> tuple[float, float]:
    """Lower end and tick step of an axis that ends at 100 % and starts below `lowest`."""
    span = max(100.0 - lowest_percent, 0.1)
    step = _nice_step(span * 1.1 / 5)
    lower = max(0.0, math.floor((lowest_percent - span * 0.05) / step) * step)
    return round(lower, 9), step


def _availability_chart(services: Sequence[Mapping[str, Any]]) -> BarChart:
    shown = list(services)
    note = ""
    if len(shown) > CHART_MAX_SERVICES:
        shown.sort(key=_lowest_first)
        shown = shown[:CHART_MAX_SERVICES]
        note = (
            f"Showing the {CHART_MAX_SERVICES} lowest of {len(services):,} services, "
            "lowest availability first."
        )
    percents = [
        float(row[column]) * 100
        for row in shown
        for column in ("availability_ratio", "target_ratio")
        if not _missing(row[column])
    ]
    lower, step = _availability_axis(min(percents, default=99.0))

    def x(percent: float) -> float:
        fraction = (min(max(percent, lower), 100.0) - lower) / (100.0 - lower)
        return round(PLOT_LEFT + fraction * (PLOT_RIGHT - PLOT_LEFT), 1)

    top = 26
    bars = []
    for index, row in enumerate(shown):
        ratio, target = row["availability_ratio"], row["target_ratio"]
        value, target_text = _availability(ratio), _target(target)
        bars.append(
            Bar(
                name=_short(str(row["service"])),
                y=top + index * ROW + (ROW - BAR) / 2,
                length=0.0 if _missing(ratio) else x(float(ratio) * 100) - PLOT_LEFT,
                value=value,
                tone="met" if bool(row["met"]) else "breached",
                tooltip=f"{row['service']}: {value} (target {target_text})",
                target_x=None if _missing(target) else x(float(target) * 100),
            )
        )
    count = round((100.0 - lower) / step)
    ticks = [
        Tick(x(lower + i * step), _tick_label(lower + i * step, step)) for i in range(count + 1)
    ]
    bottom = top + len(shown) * ROW
    return BarChart(bottom + 44, top, bottom, bars, ticks, note)


def _lowest_first(row: Mapping[str, Any]) -> tuple[bool, float]:
    ratio = row["availability_ratio"]
    return (True, 0.0) if _missing(ratio) else (False, float(ratio))


def _priority_chart(rows: Sequence[Mapping[str, Any]]) -> BarChart:
    most = max((int(row["incidents"]) for row in rows), default=0) or 1
    plot_right = PLOT_LEFT + 400
    top = 6
    bars = [
        Bar(
            name=_short(str(row["priority"])),
            y=top + index * ROW + (ROW - BAR) / 2,
            length=round(int(row["incidents"]) / most * (plot_right - PLOT_LEFT), 1),
            value=_count(row["incidents"]),
            tone="plain",
            tooltip=f"{row['priority']}: {_count(row['incidents'])} incidents",
        )
        for index, row in enumerate(rows)
    ]
    bottom = top + len(rows) * ROW
    return BarChart(bottom + 6, top, bottom, bars, [], plot_right=plot_right)


def _downtime_chart(days: Sequence[Mapping[str, Any]]) -> ColumnChart:
    most = max((float(day["downtime_seconds"]) for day in days), default=0.0)
    unit, unit_seconds = ("h", 3600) if most >= 2 * 3600 else ("min", 60)
    highest = max(most / unit_seconds, 1.0)
    step = _nice_step(highest / 4)
    top_value = math.ceil(highest / step - 1e-9) * step

    def y(value: float) -> float:
        return round(COLUMNS_BOTTOM - value / top_value * (COLUMNS_BOTTOM - COLUMNS_TOP), 1)

    slot = (COLUMNS_RIGHT - COLUMNS_LEFT) / max(len(days), 1)
    columns = []
    for index, row in enumerate(days):
        day: date = row["day"]
        seconds = float(row["downtime_seconds"])
        top = y(seconds / unit_seconds)
        columns.append(
            Column(
                x=round(COLUMNS_LEFT + index * slot + slot * 0.15, 1),
                y=top,
                width=round(slot * 0.7, 1),
                height=round(COLUMNS_BOTTOM - top, 1),
                center=round(COLUMNS_LEFT + (index + 0.5) * slot, 1),
                label=str(day.day) if slot >= 16 or index % 2 == 0 else "",
                tooltip=f"{day.isoformat()}: {_duration(seconds)}",
            )
        )
    ticks = [
        Tick(y(i * step), f"{_tick_label(i * step, step)}{NBSP}{unit}")
        for i in range(round(top_value / step) + 1)
    ]
    return ColumnChart(columns, ticks)
