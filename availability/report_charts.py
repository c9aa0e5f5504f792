"""The compliance report's charts, laid out in Python for the template to draw: availability
against target per service, downtime per day, incidents per priority.

Names wider than `NAME_CHARS` are cut short in a chart (their tooltip has them whole).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

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
    Tick,
)
from availability.report_words import UNITS, Words, missing

__all__ = ["CHART_MAX_SERVICES", "availability_chart", "downtime_chart", "priority_chart"]

CHART_MAX_SERVICES = 40  # the availability chart shows at most this many, the lowest
NAME_CHARS = 28  # fits left of the plot in the widest letters the names usually have


def _nice_step(raw: float) -> float:
    """The smallest of 1, 2, 2.5 and 5 times a power of ten that is at least `raw`."""
    magnitude = 10.0 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))


def _tick_label(value: float, step: float) -> str:
    decimals = next(d for d in range(10) if abs(round(step, d) - step) < 1e-9 * step)
    return f"{value:.{decimals}f}"


def _width(character: str) -> int:
    return 2 if unicodedata.east_asian_width(character) in "WF" else 1


def _short(name: str) -> str:
    """`name` cut to `NAME_CHARS` Latin letters' width (a Chinese character is two)."""
    if sum(map(_width, name)) <= NAME_CHARS:
        return name
    kept, width = [], 0
    for character in name:
        width += _width(character)
        if width > NAME_CHARS - 1:
            break
        kept.append(character)
    return "".join(kept) + "…"


def _availability_axis(lowest_percent: float) -> tuple[float, float]:
    """Lower end and tick step of an axis that ends at 100 % and starts below `lowest`."""
    span = max(100.0 - lowest_percent, 0.1)
    step = _nice_step(span * 1.1 / 5)
    lower = max(0.0, math.floor((lowest_percent - span * 0.05) / step) * step)
    return round(lower, 9), step


def _lowest_first(row: Mapping[str, Any]) -> tuple[bool, float]:
    ratio = row["availability_ratio"]
    return (True, 0.0) if missing(ratio) else (False, float(ratio))


def availability_chart(services: Sequence[Mapping[str, Any]], words: Words) -> BarChart:
    """A bar per service (the lowest `CHART_MAX_SERVICES` of more), its target marked."""
    shown = list(services)
    note = ""
    if len(shown) > CHART_MAX_SERVICES:
        shown.sort(key=_lowest_first)
        shown = shown[:CHART_MAX_SERVICES]
        note = words.gettext(
            "Showing the %(shown)s lowest of %(total)s services, lowest availability first."
        ) % {"shown": CHART_MAX_SERVICES, "total": f"{len(services):,}"}
    percents = [
        float(row[column]) * 100
        for row in shown
        for column in ("availability_ratio", "target_ratio")
        if not missing(row[column])
    ]
    lower, step = _availability_axis(min(percents, default=99.0))

    def x(percent: float) -> float:
        fraction = (min(max(percent, lower), 100.0) - lower) / (100.0 - lower)
        return round(PLOT_LEFT + fraction * (PLOT_RIGHT - PLOT_LEFT), 1)

    top = 26
    bars = [_availability_bar(row, top + index * ROW, x, words) for index, row in enumerate(shown)]
    count = round((100.0 - lower) / step)
    ticks = [
        Tick(x(lower + i * step), _tick_label(lower + i * step, step)) for i in range(count + 1)
    ]
    bottom = top + len(shown) * ROW
    return BarChart(bottom + 44, top, bottom, bars, ticks, note)


def _availability_bar(row: Mapping[str, Any], y: float, x: Any, words: Words) -> Bar:
    ratio, target = row["availability_ratio"], row["target_ratio"]
    value, target_text = words.availability(ratio), words.target(target)
    tooltip = words.gettext("%(service)s: %(value)s (target %(target)s)")
    return Bar(
        name=_short(str(row["service"])),
        y=y + (ROW - BAR) / 2,
        length=0.0 if missing(ratio) else x(float(ratio) * 100) - PLOT_LEFT,
        value=value,
        tone="met" if bool(row["met"]) else "breached",
        tooltip=tooltip % {"service": row["service"], "value": value, "target": target_text},
        target_x=None if missing(target) else x(float(target) * 100),
    )


def priority_chart(rows: Sequence[Mapping[str, Any]], words: Words) -> BarChart:
    """A bar per priority: the incidents opened in the month."""
    most = max((int(row["incidents"]) for row in rows), default=0) or 1
    plot_right = PLOT_LEFT + 400
    top = 6
    tooltip = words.gettext("%(priority)s: %(count)s incidents")
    bars = [
        Bar(
            name=_short(str(row["priority"])),
            y=top + index * ROW + (ROW - BAR) / 2,
            length=round(int(row["incidents"]) / most * (plot_right - PLOT_LEFT), 1),
            value=words.count(row["incidents"]),
            tone="plain",
            tooltip=tooltip % {"priority": row["priority"], "count": words.count(row["incidents"])},
        )
        for index, row in enumerate(rows)
    ]
    bottom = top + len(rows) * ROW
    return BarChart(bottom + 6, top, bottom, bars, [], plot_right=plot_right)


def downtime_chart(days: Sequence[Mapping[str, Any]], words: Words) -> ColumnChart:
    """A column per day of the report's zone, on an axis in hours or minutes."""
    most = max((float(day["downtime_seconds"]) for day in days), default=0.0)
    unit, unit_seconds = (UNITS[1][1], 3600) if most >= 2 * 3600 else (UNITS[2][1], 60)
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
                tooltip=f"{day.isoformat()}: {words.duration(seconds)}",
            )
        )
    ticks = [
        Tick(y(i * step), words.unit(unit, _tick_label(i * step, step)))
        for i in range(round(top_value / step) + 1)
    ]
    return ColumnChart(columns, ticks)
