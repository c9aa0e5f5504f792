"""The HTML compliance report: its figures, formatted as a manager reads them, and nothing
from alert labels or people that could run as markup."""

from __future__ import annotations

import gc
import re
import time
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pandas as pd
import pytest

from availability.compliance import (
    BREACH_COLUMNS,
    DAY_COLUMNS,
    PRIORITY_COLUMNS,
    SERVICE_COLUMNS,
    ComplianceReport,
)
from availability.html import render_html

# May 2024 in Europe/Paris (UTC+02:00): 744 hours.
START = datetime(2024, 4, 30, 22, tzinfo=UTC)
MONTH_END = datetime(2024, 5, 31, 22, tzinfo=UTC)
MONTH = (MONTH_END - START).total_seconds()
NAN = float("nan")
Row = dict[str, Any]


def service(name: str, availability: float = 1.0, target: float = 0.999, **figures: Any) -> Row:
    """A service's row of the report; `figures` override the other columns."""
    downtime = (1 - availability) * MONTH
    budget = (1 - target) * MONTH
    row = {
        "service": name,
        "timezone": "Europe/Paris",
        "from": START,
        "to": MONTH_END,
        "total_seconds": MONTH,
        "maintenance_seconds": 0.0,
        "downtime_seconds": downtime,
        "degraded_seconds": 0.0,
        "availability_ratio": availability,
        "target_ratio": target,
        "met": availability >= target,
        "error_budget_seconds": budget,
        "error_budget_remaining_seconds": budget - downtime,
        "warranty_extension_days": -(-int(downtime) // 86_400),
        "incidents": 0,
        "response_breaches": 0,
        "resolution_breaches": 0,
        "mtta_seconds": NAN,
        "mttr_seconds": NAN,
        "unknown_seconds": 0.0,
        "unknown_policy": "up",
        "raw_downtime_seconds": downtime,
        "raw_availability_ratio": availability,
        "adjustment_seconds": 0.0,
        "credit_ratio": 0.0,
        "month_state": "open",
        "closed_at": pd.NaT,
        "closed_by": None,
    }
    return row | figures


def breach(incident_id: int, service: str = "checkout", **fields: Any) -> Row:
    opened = datetime(2024, 5, 6, 7, 0, tzinfo=UTC)
    row = {
        "incident_id": incident_id,
        "service": service,
        "priority": "P1",
        "kind": "resolution",
        "title": "Checkout returns 502",
        "opened_at": opened,
        "due_at": opened + timedelta(hours=4),
        "done_at": opened + timedelta(hours=5, minutes=30),
        "late_seconds": 5_400.0,
    }
    return row | fields


def priority(name: str, incidents: int, **fields: Any) -> Row:
    row = {
        "service": "(all)",
        "priority": name,
        "incidents": incidents,
        "response_measured": incidents,
        "response_met": incidents,
        "response_met_ratio": 1.0 if incidents else NAN,
        "response_breaches": 0,
        "resolution_measured": incidents,
        "resolution_met": incidents,
        "resolution_met_ratio": 1.0 if incidents else NAN,
        "resolution_breaches": 0,
        "mtta_seconds": 300.0 if incidents else NAN,
        "mttr_seconds": 7_200.0 if incidents else NAN,
    }
    return row | fields


def report(
    services: list[Row] | None = None,
    *,
    breaches: list[Row] | None = None,
    priorities: list[Row] | None = None,
    days: list[float] | None = None,
    end: datetime = MONTH_END,
    **summary: Any,
) -> ComplianceReport:
    """A May 2024 report in Europe/Paris; `summary` overrides its figures."""
    rows = [service("checkout")] if services is None else services
    frame = pd.DataFrame(rows, columns=list(SERVICE_COLUMNS))
    by_day = [(date(2024, 5, 1) + timedelta(days=i), s) for i, s in enumerate(days or [])]
    breach_frame = pd.DataFrame(breaches or [], columns=list(BREACH_COLUMNS))
    for column in ("opened_at", "due_at", "done_at"):
        breach_frame[column] = pd.to_datetime(breach_frame[column], utc=True)
    return ComplianceReport(
        month="2024-05",
        timezone="Europe/Paris",
        start=START,
        end=end,
        generated_at=end + timedelta(minutes=5),
        services=frame,
        priorities=pd.DataFrame(priorities or [], columns=list(PRIORITY_COLUMNS)),
        downtime_by_day=pd.DataFrame(by_day, columns=list(DAY_COLUMNS)),
        breaches=breach_frame,
        summary={
            "services": len(frame),
            "services_met": int(frame["met"].sum()),
            "services_breached": int((~frame["met"].astype(bool)).sum()),
            "availability_ratio": 1.0,
            "downtime_seconds": float(frame["downtime_seconds"].sum()),
            "maintenance_seconds": 0.0,
            "degraded_seconds": 0.0,
            "incidents": 0,
            "response_breaches": 0,
            "resolution_breaches": 0,
            "mtta_seconds": None,
            "mttr_seconds": None,
        }
        | summary,
    )


class PageText(HTMLParser):
    """A page's table rows (cell texts) and summary figures, with plain spaces."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.texts: list[tuple[str, str]] = []  # (class of the element, its text)
        self.open: list[tuple[str, str, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th", "span", "div", "dd", "p", "text", "h1", "title"):
            self.open.append((tag, dict(attrs).get("class") or "", []))

    def handle_endtag(self, tag: str) -> None:
        if self.open and self.open[-1][0] == tag:
            _, css, parts = self.open.pop()
            text = " ".join("".join(parts).replace("\xa0", " ").split())
            self.texts.append((css, text))
            if tag in ("td", "th"):
                self.rows[-1].append(text)
            if self.open:
                self.open[-1][2].extend(parts)

    def handle_data(self, data: str) -> None:
        if self.open:
            self.open[-1][2].append(data)


def page_of(compliance: ComplianceReport, lang: str = "en") -> PageText:
    parser = PageText()
    parser.feed(render_html(compliance, lang=lang))
    return parser


def row_of(page: PageText, first_cell: str) -> list[str]:
    return next(row for row in page.rows if row and row[0].startswith(first_cell))


def figure(page: PageText, label: str) -> str:
    texts = [text for _, text in page.texts]
    return texts[texts.index(label) + 1]


def plain(html: str) -> str:
    return html.replace("\xa0", " ")


def test_the_header_names_the_month_its_period_the_time_zone_and_when_it_was_made() -> None:
    page = page_of(report())
    texts = [text for _, text in page.texts]
    assert "Availability compliance report — 2024-05" in texts
    assert "from 2024-05-01 00:00 CEST (UTC+02:00) to 2024-06-01 00:00 CEST (UTC+02:00)" in texts
    assert "Europe/Paris (all times in this report)" in texts
    assert "2024-06-01 00:05 CEST" in texts
    assert not any("month to date" in text for text in texts)


def test_a_report_of_the_running_month_says_it_is_month_to_date_and_when_the_month_ends() -> None:
    page = page_of(report(end=datetime(2024, 5, 21, 12, 30, tzinfo=UTC)))
    period = next(text for css, text in page.texts if text.startswith("from 2024-05-01"))
    assert period == (
        "from 2024-05-01 00:00 CEST (UTC+02:00) to 2024-05-21 14:30 CEST (UTC+02:00)"
        " — month to date, ends at 2024-06-01 00:00 CEST"
    )


def test_the_summary_shows_availability_with_three_decimals_and_downtime_in_words() -> None:
    page = page_of(
        report(
            availability_ratio=0.99512,
            downtime_seconds=12_965.0,
            maintenance_seconds=7_200.0,
            incidents=1_234,
            response_breaches=3,
            mtta_seconds=125.4,
        )
    )
    assert figure(page, "Overall availability") == "99.512 %"
    assert figure(page, "Total downtime") == "3 h 36 min 5 s"
    assert figure(page, "3 h 36 min 5 s") == "12,965 s"
    assert figure(page, "Maintenance") == "2 h"
    assert figure(page, "Incidents") == "1,234"
    assert figure(page, "Response breaches") == "3"
    assert figure(page, "MTTA") == "2 min 5 s"
    assert figure(page, "MTTR") == "—"


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0.0, "0 s"),
        (0.4, "0 s"),
        (59.6, "1 min"),
        (3_600.0, "1 h"),
        (3_605.0, "1 h 5 s"),
        (93_784.0, "1 d 2 h 3 min 4 s"),
    ],
)
def test_durations_read_in_days_hours_minutes_and_seconds(seconds: float, words: str) -> None:
    assert figure(page_of(report(downtime_seconds=seconds)), "Total downtime") == words


def test_availability_is_rounded_down_so_the_page_never_shows_more_than_achieved() -> None:
    page = page_of(report([service("checkout", 0.9999986, target=0.999999)]))
    assert row_of(page, "checkout")[1:3] == ["99.999 % target 99.9999 %", "BREACHED credit 0 %"]
    assert figure(page_of(report(availability_ratio=0.99512)), "Overall availability") == (
        "99.512 %"
    )


def test_each_service_row_shows_its_figures_and_says_met_or_breached_in_words() -> None:
    rows = [
        service("billing", 0.995, target=0.999, incidents=4, response_breaches=2),
        service("search", 1.0, target=0.995, mtta_seconds=90.0, mttr_seconds=5_400.0),
    ]
    page = page_of(report(rows))
    billing = row_of(page, "billing")
    assert billing[1:3] == ["99.500 % target 99.900 %", "BREACHED credit 0 %"]
    assert billing[3] == "3 h 43 min 12 s"  # 0.5 % of 744 h, nothing adjusted
    assert billing[4:6] == ["0 s counted as up", "0 s degraded 0 s"]
    assert billing[6] == "44 min 38 s remaining −2 h 58 min 34 s"
    assert billing[7] == "4 breaches 2 / 0 warranty +1 d"
    assert billing[9] == "open"
    search = row_of(page, "search")
    assert search[1:4] == ["100.000 % target 99.500 %", "met credit 0 %", "0 s"]
    assert search[8] == "1 min 30 s 1 h 30 min"
    remaining = [(css, text) for css, text in page.texts if "−2 h 58 min" in text]
    assert remaining[0] == ("sub negative", "remaining −2 h 58 min 34 s")


def test_a_service_in_another_time_zone_says_which() -> None:
    page = page_of(report([service("tokyo-gateway", timezone="Asia/Tokyo")]))
    assert row_of(page, "tokyo-gateway")[0] == "tokyo-gateway Asia/Tokyo"
    assert ("tz", "Asia/Tokyo") in page.texts


def test_names_titles_and_priorities_from_labels_are_escaped_everywhere() -> None:
    evil = "<script>alert(1)</script>"
    title = 'Disk "full" & <b>loud</b>'
    html = render_html(
        report(
            [service(evil, 0.99)],
            breaches=[breach(7, evil, title=title, priority="<i>P1</i>")],
            priorities=[priority("<i>P1</i>", 1)],
        )
    )
    assert "<script" not in html and "<b>" not in html and "<i>" not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4  # table, chart, breaches
    assert "Disk &#34;full&#34; &amp; &lt;b&gt;loud&lt;/b&gt;" in html
    page = PageText()
    page.feed(html)
    assert row_of(page, "7")[1:5] == [evil, "<i>P1</i>", "resolution", title]


def test_a_report_without_services_or_breaches_still_renders() -> None:
    empty = report([], availability_ratio=1.0, downtime_seconds=0.0)
    html = render_html(empty)
    page = PageText()
    page.feed(html)
    texts = [text for _, text in page.texts]
    assert texts.count("No services in this report.") == 2  # table and chart
    assert "No breaches." in texts
    assert "No days in this report." in texts
    assert {"No adjustments.", "No disputes.", "No changes since close."} <= set(texts)
    assert figure(page, "Services") == "0"
    assert figure(page, "MTTA") == "—"
    assert "<svg" not in html


def test_a_thousand_services_render_in_well_under_a_second_and_chart_the_forty_lowest() -> None:
    rows = [service(f"svc-{i:04d}", 1 - (i % 997) / 100_000, target=0.995) for i in range(1_000)]
    rows[500] |= {"availability_ratio": 0.98, "met": False}  # the lowest by far
    compliance = report(rows)
    render_html(compliance)  # the template compiles once per process
    # The best of three, without the cyclic collector: at the end of a long suite a full
    # collection over its leftovers (and the end-to-end stacks still running) can land in
    # one render and take seconds that are not the template's.
    timings = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(3):
            started = time.perf_counter()
            html = render_html(compliance)
            timings.append(time.perf_counter() - started)
    finally:
        gc.enable()
    elapsed = min(timings)
    assert elapsed < 0.5, f"{elapsed:.3f} s (of {', '.join(f'{t:.3f}' for t in timings)})"
    chart = html[html.index('<section id="availability"') : html.index('<section id="downtime"')]
    assert len(re.findall(r'<g class="(?:met|breached)">', chart)) == 40
    assert "the 40 lowest of 1,000 services" in chart
    bars = re.findall(r'text-anchor="end">(svc-\d+)</text>', chart)
    assert bars[0] == "svc-0500" and "svc-0000" not in bars
    assert html.count('<td class="name">svc-') == 1_000


def test_the_availability_axis_starts_near_the_lowest_figure_not_at_zero() -> None:
    html = render_html(report([service("a", 0.99512, 0.999), service("b", 0.9999, 0.999)]))
    chart = html[html.index('<section id="availability"') : html.index('<section id="downtime"')]
    ticks = re.findall(r'text-anchor="middle">([\d.]+) %</text>', chart)
    assert list(dict.fromkeys(ticks)) == ["99.4", "99.6", "99.8", "100.0"]
    assert re.findall(r'class="value"[^>]*>([^<]+)<', chart) == [
        "99.512\xa0%",
        "99.990\xa0%",
    ]
    assert len(re.findall(r'<line class="target"', chart)) == 2 + 1  # one per bar, the legend


def test_downtime_per_day_has_one_bar_a_day_and_an_axis_in_hours_or_minutes() -> None:
    hours = report(days=[0.0] * 29 + [4 * 3600.0])
    html = render_html(hours)
    assert len(re.findall(r'<rect class="downtime"', html)) == 30
    assert re.findall(r'text-anchor="end">([\d.]+)\xa0h</text>', html) == ["0", "1", "2", "3", "4"]
    minutes = render_html(report(days=[600.0, 0.0, 1_500.0]))
    assert re.findall(r'text-anchor="end">([\d.]+)\xa0min</text>', minutes) == [
        "0", "10", "20", "30",
    ]  # fmt: skip
    assert "<title>2024-05-03: 25 min</title>" in plain(minutes)


def test_incidents_per_priority_show_shares_with_one_decimal_and_dashes_when_unmeasured() -> None:
    rows = [
        priority("P1", 3, response_met_ratio=2 / 3, response_breaches=1, mttr_seconds=9_000.0),
        priority("P4", 0),
        priority("P1", 3) | {"service": "checkout"},
    ]
    page = page_of(report(priorities=rows))
    table = [row for row in page.rows if row and row[0] in ("P1", "P4")]
    assert table == [
        ["P1", "3", "66.7 %", "1", "100.0 %", "0", "5 min", "2 h 30 min"],
        ["P4", "0", "—", "0", "—", "0", "—", "—"],
    ]


def test_breaches_list_their_incident_times_in_the_report_zone_and_pending_ones() -> None:
    pending = breach(
        12, "search", kind="response", done_at=pd.NaT, late_seconds=1_800.0, title="Slow"
    )
    page = page_of(report(breaches=[breach(11), pending]))
    assert row_of(page, "11") == [
        "11", "checkout", "P1", "resolution", "Checkout returns 502",
        "2024-05-06 09:00 CEST", "2024-05-06 13:00 CEST", "2024-05-06 14:30 CEST", "1 h 30 min",
    ]  # fmt: skip
    assert row_of(page, "12")[7:] == ["pending", "30 min"]


def test_a_month_of_many_breaches_lists_those_that_ran_latest_and_says_so() -> None:
    many = [breach(n, late_seconds=float(n)) for n in range(1, 301)]
    html = render_html(report(breaches=many))
    listed = {int(n) for n in re.findall(r'<tr><td class="num">(\d+)</td>', html)}
    assert listed == set(range(51, 301))  # the 250 latest
    assert "The 250 breaches that ran latest of 300, by due time" in html
    assert "超时最久的 250 次" in render_html(report(breaches=many), lang="zh-CN")
    # A closed month's breaches come from its records' JSON: numbers of no one dtype.
    stored = report(breaches=many)
    stored.breaches["late_seconds"] = stored.breaches["late_seconds"].astype(object)
    assert "The 250 breaches that ran latest of 300" in render_html(stored)


def test_the_page_needs_no_other_file_nor_any_script() -> None:
    html = render_html(report(breaches=[breach(1)], days=[60.0], priorities=[priority("P1", 1)]))
    assert "<script" not in html and "<link" not in html and "<img" not in html
    assert not re.search(r"(?:src|href)=|url\(|@import|@font-face", html)
    assert "@media print" in html and "size: A4" in html
    assert "default-src 'none'; style-src 'unsafe-inline'" in html  # nor could it load one
