"""The HTML report of a signed month, in English and Chinese: measured and adjusted figures,
unknown time and its policy, credits, who closed the month, its digests, the adjustments,
disputes and changes since close, and the methodology the figures follow."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest

from availability.compliance import (
    ADJUSTMENT_COLUMNS,
    DISPUTE_COLUMNS,
    PENDING_COLUMNS,
    ComplianceReport,
    SignedMonth,
)
from availability.html import render_html
from availability.report_words import best_language
from tests.unit.test_report_html import MONTH, figure, page_of, plain, report, row_of, service

DIGEST = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
RULES_DIGEST = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"
CLOSED_AT = datetime(2024, 6, 3, 8, 30, tzinfo=UTC)
POLICY = {
    "degraded_weight": 0.5,
    "credits": {
        "tiers": [
            {"below_ratio": 0.99, "credit_ratio": 0.25},
            {"below_ratio": 0.999, "credit_ratio": 0.1},
            {"below_ratio": "not a number", "credit_ratio": 0.5},
        ],
        "max_ratio": 0.3,
    },
    "timezone": "Europe/Paris",
}


def adjusted(name: str, raw_down: float, down: float, **fields: Any) -> dict[str, Any]:
    """A closed service whose downtime `raw_down` was adjusted to `down`."""
    row = service(name, 1 - down / MONTH, target=0.999)
    return row | {
        "raw_downtime_seconds": raw_down,
        "raw_availability_ratio": 1 - raw_down / MONTH,
        "adjustment_seconds": down - raw_down,
        "month_state": "closed",
        "closed_at": CLOSED_AT,
        "closed_by": "ana",
        **fields,
    }


def frame(columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    """Rows of the leading columns; any left (such as an adjustment's pending change) None."""
    return pd.DataFrame(
        [row + (None,) * (len(columns) - len(row)) for row in rows], columns=list(columns)
    )


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 5, day, hour, minute, tzinfo=UTC)


def record() -> SignedMonth:
    adjustments = frame(
        ADJUSTMENT_COLUMNS,
        [
            (1, "checkout", "exclude", at(6, 7), at(6, 8), "false_alarm", "probe misfired")
            + ("applied", "ana", at(2, 9), "bo", at(2, 10), -3_600.0, 3_600 / MONTH),
            (2, "search", "add", at(9, 1), at(9, 1, 10), "monitoring_error", "gap seen late")
            + ("awaiting_approval", "cy", at(3, 9), None, pd.NaT, 600.0, -600 / MONTH),
        ],
    )
    disputes = frame(
        DISPUTE_COLUMNS,
        [
            (7, "checkout", at(6, 7), at(6, 8), "buyer@example.com", "we saw no outage")
            + ("resolved", "ana", at(2, 11), "bo", at(3, 12), "excluded as a false alarm"),
            (8, "search", at(12, 0), at(12, 2), "ops@example.com", "slow, not down")
            + ("open", "ana", at(4, 9), None, pd.NaT, None),
        ],
    )
    pending = frame(
        PENDING_COLUMNS,
        [(3, "search", at(5, 6), 120.0, 0.0, -60.0, -120 / MONTH, "pending")],
    )
    return SignedMonth("closed", DIGEST, RULES_DIGEST, adjustments, disputes, pending, POLICY)


def signed() -> ComplianceReport:
    rows = [
        adjusted("checkout", 5_400.0, 1_800.0, credit_ratio=0.1, unknown_seconds=900.0),
        adjusted("search", 600.0, 600.0, adjustment_seconds=0.0, unknown_policy="excluded"),
        service("tokyo", timezone="Asia/Tokyo", unknown_seconds=65.0, unknown_policy="down"),
    ]
    return dataclasses.replace(report(rows), record=record())


def test_an_adjusted_service_shows_its_measured_figures_and_the_adjustment_in_seconds() -> None:
    page = page_of(signed())
    checkout = row_of(page, "checkout")
    assert checkout[1] == "99.932 % measured 99.798 % target 99.900 %"
    assert checkout[3] == "30 min measured 1 h 30 min adjusted by −3,600 s"
    search = row_of(page, "search")  # nothing adjusted: one figure each
    assert search[1] == "99.977 % target 99.900 %"
    assert search[3] == "10 min"


def test_unknown_time_credits_and_who_closed_each_service_s_month() -> None:
    page = page_of(signed())
    checkout, search, tokyo = (row_of(page, name) for name in ("checkout", "search", "tokyo"))
    assert (checkout[4], search[4], tokyo[4]) == (
        "15 min counted as up",
        "0 s excluded",
        "1 min 5 s counted as down",
    )
    assert checkout[2] == "met credit 10 %"
    assert ("sub strong", "credit 10 %") in page.texts
    assert checkout[9] == "closed by ana 2024-06-03 10:30 CEST"
    assert tokyo[9] == "open"
    assert figure(page, "Unknown time") == "16 min 5 s"
    assert figure(page, "Credits") == "1"


def test_a_closed_month_names_who_closed_it_and_gives_both_digests_whole() -> None:
    html = render_html(signed())
    page = page_of(signed())
    texts = [text for _, text in page.texts]
    assert "closed by ana at 2024-06-03 10:30 CEST" in texts
    assert f'<code class="digest">{DIGEST}</code>' in html
    assert f'<code class="digest">{RULES_DIGEST}</code>' in html
    opened = page_of(report())
    assert "open — the figures may still change" in [text for _, text in opened.texts]
    assert "digest" not in render_html(report()).split("<body>")[1].split("<section")[0]


def test_adjustments_say_who_asked_who_approved_why_and_their_effect() -> None:
    page = page_of(signed())
    first = row_of(page, "1")
    assert first[:7] == [
        "1", "checkout", "exclude", "2024-05-06 09:00 CEST – 2024-05-06 10:00 CEST",
        "false alarm", "probe misfired", "applied",
    ]  # fmt: skip
    assert first[7:] == [
        "ana 2024-05-02 11:00 CEST",
        "bo 2024-05-02 12:00 CEST",
        "−3,600 s −1 h +0.1344 pp",
    ]
    second = row_of(page, "2")
    assert second[2] == "add" and second[4] == "monitoring error"
    assert second[6:] == [
        "awaiting approval",
        "cy 2024-05-03 11:00 CEST",
        "—",
        "+600 s 10 min −0.0224 pp",
    ]


def test_open_disputes_come_first_and_changes_since_close_give_their_deltas() -> None:
    page = page_of(signed())
    disputes = [row for row in page.rows if row and row[0] in ("7", "8")]
    assert [row[0] for row in disputes] == ["8", "7"]
    assert disputes[0][3:] == [
        "ops@example.com", "slow, not down", "open", "ana 2024-05-04 11:00 CEST", "—", "—",
    ]  # fmt: skip
    assert disputes[1][5:] == [
        "resolved", "ana 2024-05-02 13:00 CEST", "bo 2024-05-03 14:00 CEST",
        "excluded as a false alarm",
    ]  # fmt: skip
    assert row_of(page, "3") == [
        "3", "search", "2024-05-05 08:00 CEST", "+120 s", "+0 s", "−60 s", "−0.0045 pp", "pending",
    ]  # fmt: skip


def test_the_methodology_states_the_formula_weight_credit_tiers_and_time_zones() -> None:
    html = plain(render_html(signed()))
    method = html[html.index('<section id="methodology"') :]
    assert "availability = (T − M − D − w·G) / (T − M)" in method
    assert "the degraded weight: 0.5" in method
    assert "as down (added to D) or excluded (added to M, like maintenance)" in method
    tiers = re.findall(r'<tr><td class="num">([^<]+)</td><td class="num">([^<]+)</td></tr>', method)
    assert tiers == [("99.900 %", "10 %"), ("99.000 %", "25 %")]
    assert "A credit is at most 30 % of the monthly fee." in method
    assert "Times and the days of the downtime chart are in Europe/Paris." in method
    assert "Services' months: Asia/Tokyo, Europe/Paris." in method


def test_a_policy_without_weight_or_tiers_says_so() -> None:
    html = plain(render_html(report()))
    assert "the degraded weight of each service, as the rule file sets it" in html
    assert "No credit tiers are stated." in html and "at most" not in html


def test_the_chinese_report_speaks_chinese_in_every_heading_figure_and_value() -> None:
    html = render_html(signed(), lang="zh-CN")
    assert html.startswith('<!DOCTYPE html>\n<html lang="zh-CN">')
    page = page_of(signed(), lang="zh-CN")
    headings = re.findall(r"<h2>([^<]+)</h2>", html)
    assert headings == [
        "概要", "服务", "可用率与目标对比", "每日停机时间", "各优先级的事件", "超时", "本月记录",
        "计算方法",
    ]  # fmt: skip
    checkout = row_of(page, "checkout")
    assert checkout[1] == "99.932% 实测 99.798% 目标 99.900%"
    assert checkout[3] == "30 分 实测 1 小时 30 分 调整 −3,600 秒"
    assert checkout[4] == "15 分 计为可用"
    assert row_of(page, "tokyo")[4] == "1 分 5 秒 计为不可用"
    assert figure(page, "未知时间") == "16 分 5 秒"
    assert "已关账（由 ana 于 2024-06-03 10:30 CEST）" in [text for _, text in page.texts]
    assert row_of(page, "1")[4] == "误报"
    assert "可用率 = (T − M − D − w·G) / (T − M)" in html
    english = {"Services", "Summary", "Methodology", "Adjustments", "Disputes", "BREACHED"}
    assert not [word for word in english if f">{word}<" in html]


def test_a_language_other_than_english_and_chinese_is_refused() -> None:
    with pytest.raises(ValueError, match="zh-CN"):
        render_html(report(), lang="fr")


@pytest.mark.parametrize(
    ("chosen", "header", "language"),
    [
        ("zh-CN", "en", "zh-CN"),
        ("en", "zh-CN", "en"),
        (None, "zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        (None, "en-GB,en;q=0.9,zh-TW;q=0.8", "en"),
        (None, "fr-FR,fr;q=0.9,zh;q=0.5,en;q=0.3", "zh-CN"),
        (None, "en;q=0.2, zh-Hans-CN;q=0.7", "zh-CN"),
        (None, "zh;q=0, en;q=0.1", "en"),
        (None, "fr, de", "en"),
        (None, "zh;q=abc", "en"),
        (None, None, "en"),
        ("fr", None, "en"),
    ],
)
def test_the_language_is_the_one_chosen_else_accept_language_s_best_else_english(
    chosen: str | None, header: str | None, language: str
) -> None:
    assert best_language(chosen, header) == language
