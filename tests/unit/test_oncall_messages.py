"""Messages about incidents as their readers get them: worded in their language, times in
their zone, laid out for the channel, and a rule file's templates in place of the shipped."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from oncall.channels.base import Recipient
from oncall.messages import Links, Reader, compose

ONCALL = Path(__file__).parents[2] / "oncall"
NOW = datetime(2026, 11, 22, 1, 40, tzinfo=UTC)
INCIDENT = {
    "id": 12,
    "title": "Card payments fail <for some>",
    "service": "payments",
    "priority": "P1",
    "level": "critical",
    "state": "open",
    "source": "alert",
    "opened_at": "2026-11-22T01:00:00Z",
    "response_due_at": "2026-11-22T02:00:00Z",
    "resolution_due_at": "2026-11-23T01:00:00Z",
    "alert_count": 3,
}
ANA = Recipient("ana", "Ana", "zh-CN", phone="+86 138 0013 8000")
LINKS = Links("https://noc.example.org/incidents/12", "https://noc.example.org/ack/v1.x.y")


def message(
    kind: str,
    channel: str,
    reader: Reader,
    overrides: dict[str, str] | None = None,
    **payload: Any,
) -> Any:
    body = {"reason": kind, "incident": INCIDENT, "contact": "on-duty", **payload}
    return compose(
        kind=kind,
        payload=body,
        channel_type=channel,
        reader=reader,
        key="incident/12/opened/on-duty",
        links=LINKS,
        now=NOW,
        overrides=overrides,
    )


def test_every_message_of_the_catalogue_is_translated_into_chinese_with_its_placeholders() -> None:
    with (ONCALL / "locales/zh_CN/LC_MESSAGES/messages.po").open("rb") as po:
        catalogue = read_po(po, locale="zh_CN")
    found = {
        str(message_id)
        for _, _, message_id, _, _ in extract_from_dir(
            str(ONCALL), [("**.py", "python")], keywords={"_": None, "gettext": None, "N_": None}
        )
    }
    assert len(found) > 30  # the messages were found at all
    placeholder = re.compile(r"%\((\w+)\)\w")
    for key in found:
        entry = catalogue.get(key)
        assert entry is not None and entry.string, f"not translated: {key!r}"
        assert set(placeholder.findall(str(entry.string))) == set(placeholder.findall(key)), key


def test_an_escalation_reads_in_chinese_with_times_in_the_reader_s_zone() -> None:
    sent = message(
        "escalation",
        "dingtalk",
        Reader(ANA, "zh-CN", "Asia/Shanghai"),
        details={"step": 2, "after": "30m"},
    )
    assert sent.title == "【P1】升级第 2 步：payments — Card payments fail <for some>"
    assert "- **响应截止**: 2026-11-22 10:00 CST (剩余 20 分钟)" in sent.text
    assert "- **升级**: 第 2 步，事件创建后 30m" in sent.text
    assert f"[确认（接手处理）]({LINKS.ack})" in sent.text
    assert (sent.link_label, sent.ack_label) == ("在控制台中打开", "确认（接手处理）")
    assert sent.payload["person"] == "ana" and sent.payload["reason"] == "escalation"


def test_an_english_reader_in_berlin_gets_english_and_berlin_time() -> None:
    sent = message(
        "breach", "email", Reader(None, "en", "Europe/Berlin"), details={"kind": "response"}
    )
    assert sent.title == "[P1] Response target missed: payments — Card payments fail <for some>"
    assert "Opened at: 2026-11-22 02:00 CET" in sent.text
    assert sent.html is not None
    assert "Card payments fail &lt;for some&gt;" in sent.html  # escaped in HTML, not in text
    assert "Card payments fail <for some>" in sent.text


def test_slack_gets_its_own_markup_with_its_characters_escaped() -> None:
    sent = message("opened", "slack", Reader(None, "en", "UTC"))
    assert sent.text.startswith("*[P1] Opened: payments — Card payments fail &lt;for some&gt;*")
    assert f"<{LINKS.console}|Open in the console>" in sent.text


def test_a_rule_file_template_replaces_the_layout_of_its_kind_only() -> None:
    overrides = {"opened": "NEW {{ incident.service }} {{ ack_link }}", "default": "{{ headline }}"}
    reader = Reader(None, "en", "UTC")
    opened = message("opened", "wecom", reader, overrides=overrides)
    assert opened.text == f"NEW payments {LINKS.ack}\n"
    resolved = message("resolved", "wecom", reader, overrides=overrides)
    assert resolved.text == "[P1] Resolved: payments — Card payments fail <for some>\n"
