"""The Jinja template of the HTML compliance report (inline CSS and SVG, no script) and the
shapes it draws.

`availability.html` fills it with pre-formatted text and laid-out charts; autoescape is on.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["REPORT_TEMPLATE", "Bar", "BarChart", "Column", "ColumnChart", "Figure", "Tick"]

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


REPORT_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Availability compliance report — {{ month }}</title>
<style>
:root {
  --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --head: #eef1f4; --zebra: #f6f8fa;
  --met: #1a7f37; --met-bg: #dafbe1; --breached: #cf222e; --bar: #0969da; --down: #bc4c00;
}
* { box-sizing: border-box; }
body {
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
    "Noto Sans", "Liberation Sans", sans-serif;
  color: var(--fg); background: #fff; margin: 0 auto; max-width: 1440px; padding: 20px 24px;
  font-size: 14px; line-height: 1.4;
}
h1 { font-size: 24px; margin: 0 0 8px; }
h2 {
  font-size: 18px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--fg);
}
p.note { color: var(--muted); margin: 4px 0 10px; }
dl.period { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dl.period dt { color: var(--muted); }
dl.period dd { margin: 0; }
.to-date { font-weight: 600; color: var(--down); }
.figures {
  display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 10px;
}
.figure { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; }
.figure .label { color: var(--muted); font-size: 12px; text-transform: uppercase; }
.figure .value { font-size: 19px; font-weight: 600; font-variant-numeric: tabular-nums; }
.figure .detail { color: var(--muted); font-size: 12px; }
.figure.alarm .value { color: var(--breached); }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 12px; }
th, td { border: 1px solid var(--line); padding: 4px; text-align: left; vertical-align: top; }
thead th { background: var(--head); font-weight: 600; vertical-align: bottom; }
tbody tr:nth-child(even) { background: var(--zebra); }
.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
td.name { overflow-wrap: anywhere; min-width: 8em; }
.tz { display: block; color: var(--muted); font-size: 11px; }
.status {
  font-size: 11px; font-weight: 700; padding: 0 5px; border-radius: 3px; white-space: nowrap;
}
.status.met { color: var(--met); background: var(--met-bg); }
.status.breached { color: #fff; background: var(--breached); }
.negative { color: var(--breached); font-weight: 600; }
.pending { font-style: italic; color: var(--breached); }
.empty { color: var(--muted); font-style: italic; }
svg.chart { display: block; width: 100%; height: auto; max-width: 1000px; }
svg text { font-family: inherit; font-size: 12px; fill: var(--fg); }
svg .grid line, svg line.grid { stroke: var(--line); stroke-width: 1; }
svg .axis { stroke: var(--fg); stroke-width: 1; }
svg .met rect, svg rect.met { fill: var(--met); }
svg .breached rect, svg rect.breached { fill: var(--breached); }
svg .plain rect { fill: var(--bar); }
svg rect.downtime { fill: var(--down); }
svg line.target { stroke: var(--fg); stroke-width: 2.5; }
svg .value { font-variant-numeric: tabular-nums; }
svg .muted { fill: var(--muted); }
@page { size: A4; margin: 12mm; }
@page wide { size: A4 landscape; margin: 10mm; }
@media print {
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { max-width: none; padding: 0; font-size: 10pt; }
  section.page { break-before: page; }
  section.wide { page: wide; }
  section.page h2 { margin-top: 0; }
  .table-wrap { overflow: visible; }
  table { font-size: 7.5pt; }
  th, td { padding: 2px 4px; }
  td.num { white-space: normal; }
  thead { display: table-header-group; }
  tr, .figure, svg.chart { break-inside: avoid; }
}
</style>
</head>
<body>
<header>
  <h1>Availability compliance report — {{ month }}</h1>
  <dl class="period">
    <dt>Period</dt>
    <dd>from {{ period.start }} to {{ period.end }}
      {% if period.month_ends %}
      — <span class="to-date">month to date, ends at {{ period.month_ends }}</span>
      {% endif %}
    </dd>
    <dt>Time zone</dt><dd>{{ period.timezone }} (all times in this report)</dd>
    <dt>Generated at</dt><dd>{{ period.generated }}</dd>
  </dl>
</header>

<section id="summary">
  <h2>Summary</h2>
  <div class="figures">
  {% for figure in figures %}
    <div class="figure{{ ' alarm' if figure.alarming }}">
      <div class="label">{{ figure.label }}</div>
      <div class="value">{{ figure.value }}</div>
      {% if figure.detail %}<div class="detail">{{ figure.detail }}</div>{% endif %}
    </div>
  {% endfor %}
  </div>
</section>

<section id="services" class="page wide">
  <h2>Services</h2>
  {% if services %}
  <div class="table-wrap"><table>
    <thead><tr>
      <th>Service</th><th class="num">Availability</th><th class="num">Target</th>
      <th>Status</th><th class="num">Downtime</th><th class="num">Maintenance</th>
      <th class="num">Degraded</th><th class="num">Error budget</th>
      <th class="num">Budget remaining</th><th class="num">Warranty extension (days)</th>
      <th class="num">Incidents</th><th class="num">Breaches (response / resolution)</th>
      <th class="num">MTTA</th><th class="num">MTTR</th>
    </tr></thead>
    <tbody>
    {% for s in services %}
      <tr><td class="name">{{ s.service }}
        {%- if s.timezone %}<span class="tz">{{ s.timezone }}</span>{% endif %}</td>
        <td class="num">{{ s.availability_ratio }}</td><td class="num">{{ s.target_ratio }}</td>
        <td>{% if s.met %}<span class="status met">met</span>
          {%- else %}<span class="status breached">BREACHED</span>{% endif %}</td>
        <td class="num">{{ s.downtime_seconds }}</td>
        <td class="num">{{ s.maintenance_seconds }}</td>
        <td class="num">{{ s.degraded_seconds }}</td>
        <td class="num">{{ s.error_budget_seconds }}</td>
        <td class="num{{ ' negative' if s.overspent }}">{{ s.error_budget_remaining_seconds }}</td>
        <td class="num">{{ s.warranty_extension_days }}</td><td class="num">{{ s.incidents }}</td>
        <td class="num">{{ s.response_breaches }} / {{ s.resolution_breaches }}</td>
        <td class="num">{{ s.mtta_seconds }}</td><td class="num">{{ s.mttr_seconds }}</td></tr>
    {% endfor %}
    </tbody>
  </table></div>
  {% else %}
  <p class="empty">No services in this report.</p>
  {% endif %}
</section>

<section id="availability" class="page">
  <h2>Availability against target</h2>
  {% if services %}
  {% set c = availability_chart %}
  {% if c.note %}<p class="note">{{ c.note }}</p>{% endif %}
  <svg class="chart" viewBox="0 0 {{ c.width }} {{ c.height }}" role="img"
       aria-label="Availability against target per service">
    <g class="grid">
    {% for tick in c.ticks %}
      <line x1="{{ tick.at }}" y1="{{ c.axis_top - 6 }}"
            x2="{{ tick.at }}" y2="{{ c.axis_bottom + 4 }}"/>
      <text class="muted" x="{{ tick.at }}" y="{{ c.axis_top - 10 }}"
            text-anchor="middle">{{ tick.label }} %</text>
      <text class="muted" x="{{ tick.at }}" y="{{ c.axis_bottom + 18 }}"
            text-anchor="middle">{{ tick.label }} %</text>
    {% endfor %}
    </g>
    {% for bar in c.bars %}
    <g class="{{ bar.tone }}">
      <title>{{ bar.tooltip }}</title>
      <text x="{{ c.name_right }}" y="{{ bar.y + 10 }}" text-anchor="end">{{ bar.name }}</text>
      <rect x="{{ c.plot_left }}" y="{{ bar.y }}" width="{{ bar.length }}" height="{{ c.bar }}"/>
      {% if bar.target_x is not none %}
      <line class="target" x1="{{ bar.target_x }}" y1="{{ bar.y - 3 }}"
            x2="{{ bar.target_x }}" y2="{{ bar.y + c.bar + 3 }}"/>
      {% endif %}
      <text class="value" x="{{ c.plot_right + 10 }}" y="{{ bar.y + 10 }}">{{ bar.value }}</text>
    </g>
    {% endfor %}
    <g transform="translate({{ c.plot_left }} {{ c.axis_bottom + 30 }})">
      <rect class="met" x="0" y="0" width="14" height="10"/><text x="20" y="10">met</text>
      <rect class="breached" x="70" y="0" width="14" height="10"/>
      <text x="90" y="10">breached</text>
      <line class="target" x1="175" y1="-2" x2="175" y2="12"/><text x="183" y="10">target</text>
    </g>
  </svg>
  {% else %}
  <p class="empty">No services in this report.</p>
  {% endif %}
</section>

<section id="downtime" class="page">
  <h2>Downtime per day</h2>
  <p class="note">Downtime of all services together, per day in {{ period.timezone }}.</p>
  {% if downtime_chart.columns %}
  {% set d = downtime_chart %}
  <svg class="chart" viewBox="0 0 {{ d.width }} {{ d.height }}" role="img"
       aria-label="Downtime per day">
    {% for tick in d.ticks %}
    <line class="grid" x1="{{ d.plot_left }}" y1="{{ tick.at }}"
          x2="{{ d.plot_right }}" y2="{{ tick.at }}"/>
    <text class="muted" x="{{ d.plot_left - 8 }}" y="{{ tick.at + 4 }}"
          text-anchor="end">{{ tick.label }}</text>
    {% endfor %}
    {% for column in d.columns %}
    <g>
      <title>{{ column.tooltip }}</title>
      <rect class="downtime" x="{{ column.x }}" y="{{ column.y }}"
            width="{{ column.width }}" height="{{ column.height }}"/>
      {% if column.label %}
      <text class="muted" x="{{ column.center }}" y="{{ d.plot_bottom + 16 }}"
            text-anchor="middle">{{ column.label }}</text>
      {% endif %}
    </g>
    {% endfor %}
    <line class="axis" x1="{{ d.plot_left }}" y1="{{ d.plot_bottom }}"
          x2="{{ d.plot_right }}" y2="{{ d.plot_bottom }}"/>
    <text class="muted" x="{{ (d.plot_left + d.plot_right) // 2 }}" y="{{ d.plot_bottom + 36 }}"
          text-anchor="middle">day of {{ month }}</text>
  </svg>
  {% else %}
  <p class="empty">No days in this report.</p>
  {% endif %}
</section>

<section id="priorities" class="page">
  <h2>Incidents per priority</h2>
  {% if priorities %}
  {% set c = priority_chart %}
  <svg class="chart" viewBox="0 0 {{ c.width }} {{ c.height }}" role="img"
       aria-label="Incidents per priority">
    {% for bar in c.bars %}
    <g class="plain">
      <title>{{ bar.tooltip }}</title>
      <text x="{{ c.name_right }}" y="{{ bar.y + 10 }}" text-anchor="end">{{ bar.name }}</text>
      <rect x="{{ c.plot_left }}" y="{{ bar.y }}" width="{{ bar.length }}" height="{{ c.bar }}"/>
      <text class="value" x="{{ c.plot_left + bar.length + 6 }}"
            y="{{ bar.y + 10 }}">{{ bar.value }}</text>
    </g>
    {% endfor %}
  </svg>
  <div class="table-wrap"><table>
    <thead><tr>
      <th>Priority</th><th class="num">Incidents</th>
      <th class="num">Response met</th><th class="num">Response breaches</th>
      <th class="num">Resolution met</th><th class="num">Resolution breaches</th>
      <th class="num">MTTA</th><th class="num">MTTR</th>
    </tr></thead>
    <tbody>
    {% for p in priorities %}
      <tr><td>{{ p.priority }}</td><td class="num">{{ p.incidents }}</td>
        <td class="num">{{ p.response_met_ratio }}</td>
        <td class="num">{{ p.response_breaches }}</td>
        <td class="num">{{ p.resolution_met_ratio }}</td>
        <td class="num">{{ p.resolution_breaches }}</td>
        <td class="num">{{ p.mtta_seconds }}</td><td class="num">{{ p.mttr_seconds }}</td></tr>
    {% endfor %}
    </tbody>
  </table></div>
  {% else %}
  <p class="empty">No priorities in this report.</p>
  {% endif %}
</section>

<section id="breaches" class="page wide">
  <h2>Breaches</h2>
  {% if breaches %}
  <div class="table-wrap"><table>
    <thead><tr>
      <th class="num">Incident</th><th>Service</th><th>Priority</th><th>Kind</th><th>Title</th>
      <th class="num">Opened</th><th class="num">Due</th><th class="num">Done</th>
      <th class="num">Late by</th>
    </tr></thead>
    <tbody>
    {% for b in breaches %}
      <tr><td class="num">{{ b.incident_id }}</td><td class="name">{{ b.service }}</td>
        <td>{{ b.priority }}</td><td>{{ b.kind }}</td><td>{{ b.title }}</td>
        <td class="num">{{ b.opened_at }}</td><td class="num">{{ b.due_at }}</td>
        <td class="num">{% if b.done_at %}{{ b.done_at }}
          {%- else %}<span class="pending">pending</span>{% endif %}</td>
        <td class="num">{{ b.late_seconds }}</td></tr>
    {% endfor %}
    </tbody>
  </table></div>
  {% else %}
  <p class="empty">No breaches.</p>
  {% endif %}
</section>
</body>
</html>
"""
