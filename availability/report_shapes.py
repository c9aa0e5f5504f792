"""The shapes the HTML compliance report's template (`templates/report.html.j2`) draws,
and the charts' geometry.

`availability.html` fills the template with pre-formatted text and these laid-out charts.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Bar", "BarChart", "Column", "ColumnChart", "Figure", "Tick"]

# Chart geometry, in SVG user units (the charts scale to the page's width).
CHART_WIDTH = 900
NAME_RIGHT = 222
PLOT_LEFT = 232
PLOT_RIGHT = 780
ROW = 20
BAR = 12
COLUMNS_LEFT, COLUMNS_RIGHT, COLUMNS_TOP, COLUMNS_BOTTOM = 70, CHART_WIDTH - 10, 14, 240


@dataclass(frozen=True)
class Figure:
    """A key figure of the summary; `alarm` ones show red unless they are zero."""

    label: str
    value: str
    detail: str = ""
    alarm: bool = False

    @property
    def alarming(self) -> bool:
        return self.alarm and self.value not in ("0", "—")


@dataclass(frozen=True)
class Tick:
    at: float  # x for a horizontal axis, y for a vertical one
    label: str


@dataclass(frozen=True)
class Bar:
    """A horizontal bar: its row's name, length, value label and optional target marker."""

    name: str
    y: float
    length: float
    value: str
    tone: str  # "met", "breached" or "plain": the CSS class that colours it
    tooltip: str
    target_x: float | None = None


@dataclass(frozen=True)
class BarChart:
    height: float
    axis_top: float
    axis_bottom: float
    bars: list[Bar]
    ticks: list[Tick]
    note: str = ""
    bar: int = BAR
    width: int = CHART_WIDTH
    plot_left: int = PLOT_LEFT
    plot_right: int = PLOT_RIGHT
    name_right: int = NAME_RIGHT


@dataclass(frozen=True)
class Column:
    """A vertical bar of the downtime chart: one day."""

    x: float
    y: float
    width: float
    height: float
    center: float
    label: str
    tooltip: str


@dataclass(frozen=True)
class ColumnChart:
    columns: list[Column]
    ticks: list[Tick]
    width: int = CHART_WIDTH
    height: int = 285
    plot_left: int = COLUMNS_LEFT
    plot_right: int = COLUMNS_RIGHT
    plot_top: int = COLUMNS_TOP
    plot_bottom: int = COLUMNS_BOTTOM
