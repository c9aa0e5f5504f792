"""The queue's order and clocks, and the console's choice of language (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from console.i18n import Words, duration, local_time, negotiate, translations
from console.queue import queue_lines, queue_rows

NOW = datetime(2026, 11, 21, 23, 0, tzinfo=UTC)


@dataclass
class Incident:
    id: int
    priority: str
    opened_at: datetime
    response_due_at: datetime | None
    resolution_due_at: datetime | None = None
    acknowledged_at: datetime | None = None
    response_breached: bool = False
    resolution_breached: bool = False
    title: str = "t"
    service: str = "s"
    state: str = "open"


def test_most_urgent_first_priority_then_least_time_left_then_oldest() -> None:
    hour = timedelta(hours=1)
    incidents = [
        Incident(1, "P2", NOW - hour, NOW + hour),
        Incident(2, "P1", NOW - hour, NOW + 2 * hour),
        Incident(3, "P1", NOW - hour, NOW + hour),
        Incident(4, "P9", NOW - 3 * hour, None),
        Incident(5, "P1", NOW - 2 * hour, None),
    ]
    rows = queue_rows(incidents, ["P1", "P2", "P3"], NOW)
    assert [row.incident.id for row in rows] == [3, 2, 5, 1, 4]


def test_a_clock_is_amber_under_a_quarter_left_and_red_once_breached() -> None:
    opened = NOW - timedelta(minutes=50)
    rows = queue_rows(
        [
            Incident(1, "P1", opened, opened + timedelta(minutes=60)),
            Incident(2, "P1", opened, opened + timedelta(minutes=80)),
            Incident(3, "P1", opened, opened + timedelta(minutes=90), response_breached=True),
            Incident(4, "P1", opened, opened + timedelta(minutes=40)),
        ],
        ["P1"],
        NOW,
    )
    # Least time left first: the overdue one, then 10, 30 and 40 minutes left.
    assert [row.incident.id for row in rows] == [4, 1, 2, 3]
    late, amber, ok, red = rows
    assert (amber.tone, amber.left) == ("amber", timedelta(minutes=10))
    assert ok.tone == "ok" and late.tone == "red" and late.left == timedelta(minutes=-10)
    assert red.tone == "red"
    acknowledged = Incident(
        5, "P1", opened, opened + timedelta(hours=1), opened + timedelta(hours=4), NOW
    )
    [row] = queue_rows([acknowledged], ["P1"], NOW)
    assert (row.clock, row.due_at) == ("resolution", opened + timedelta(hours=4))


def test_each_row_is_worded_in_the_viewer_s_language_and_zone() -> None:
    opened = NOW - timedelta(minutes=50)
    rows = queue_rows(
        [
            Incident(1, "P1", opened, opened + timedelta(minutes=60), title="<b>disk</b>"),
            Incident(2, "P1", opened, opened + timedelta(minutes=40), response_breached=True),
            Incident(3, "P9", opened, None, state="acknowledged", acknowledged_at=opened),
        ],
        ["P1"],
        NOW,
    )
    english = queue_lines(rows, Words.of("en", "Europe/Berlin"))
    late, due, unmeasured = english
    assert (late.id, late.tone, late.clock) == (2, "red", "response overdue by 10 min")
    assert (due.clock, due.due, due.age) == (
        "response due in 10 min",
        "2026-11-22 00:10 CET",
        "50 min",
    )
    assert due.title == "<b>disk</b>"  # the template escapes it, once
    assert (unmeasured.clock, unmeasured.due, unmeasured.state) == ("—", "—", "acknowledged")
    chinese = queue_lines(rows, Words.of("zh-CN", "Asia/Shanghai"))
    assert chinese[0].clock == "响应已超时 10 分钟"
    assert (chinese[1].due, chinese[2].state) == ("2026-11-22 07:10 CST", "处理中")


def test_the_language_is_the_page_s_then_the_person_s_then_the_browser_s() -> None:
    assert negotiate("zh-CN", "en", "en") == "zh-CN"
    assert negotiate(None, "zh-CN", "en-GB") == "zh-CN"
    assert negotiate(None, None, "zh-TW,zh;q=0.9,en;q=0.8") == "zh-CN"
    assert negotiate("klingon", None, "fr-FR, en;q=0.5") == "en"
    assert negotiate(None, None, None) == "en"


def test_times_are_shown_in_the_viewer_s_zone_with_the_zone_named() -> None:
    assert local_time(NOW, "Asia/Shanghai") == "2026-11-22 07:00 CST"
    assert local_time(NOW, "Europe/Berlin") == "2026-11-22 00:00 CET"
    assert duration(timedelta(hours=2, minutes=5)) == "2 h 05 min"
    assert duration(timedelta(seconds=-45)) == "45 s"
    chinese = translations("zh-CN").gettext
    assert duration(timedelta(hours=2, minutes=5), chinese) == "2 小时 05 分钟"
    assert duration(timedelta(days=2, hours=15), chinese) == "2 天 15 小时"


def test_every_message_of_the_chinese_catalogue_is_translated() -> None:
    chinese = translations("zh-CN")
    assert chinese.gettext("Incident queue") == "事件队列"
    assert chinese.gettext("response") == "响应"
    assert translations("en").gettext("Incident queue") == "Incident queue"
