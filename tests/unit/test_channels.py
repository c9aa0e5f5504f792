"""What each channel puts on the wire for a message, and how it reads the service's answer."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

import pytest

from oncall.channels import check_answer, dingtalk, feishu, http_request, slack, webhook, wecom
from oncall.channels.base import ChannelRefused, Message, Recipient
from oncall.channels.email import SmtpSettings, compose
from oncall.channels.layout import body_size
from oncall.channels.phones import robot_mobile, split_phone
from rules.reaching import (
    DingTalkChannel,
    EmailChannel,
    FeishuChannel,
    SlackChannel,
    WebhookChannel,
    WeComChannel,
)

NOW = datetime(2026, 11, 21, 23, 0, 5, 123456, tzinfo=UTC)
NOW_MS = "1795302005123"
DINGTALK_URL = "https://oapi.dingtalk.com/robot/send?access_token=t0ken"
WECOM_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k3y"
FEISHU_URL = "https://open.feishu.cn/open-apis/bot/v2/hook/h00k"
SLACK_URL = "https://hooks.slack.com/services/T0/B0/s3cret"
LINK = "https://slakeeper.example/incidents/42"
ACK = "https://slakeeper.example/ack/42?token=abc&person=li.lei"


def person(**changes: Any) -> Recipient:
    base = Recipient(
        username="li.lei",
        display_name="李雷",
        language="zh-CN",
        email="li.lei@example.com",
        phone="+86 138 0013 8000",
        chat_ids={
            "wecom": "LiLei",
            "feishu": "ou_7d8a6e6df7621556ce0d21922b676706",
            "slack": "U024BE7LH",
        },
    )
    return dataclasses.replace(base, **changes)


def message(**changes: Any) -> Message:
    base = Message(
        kind="opened",
        title="[P1] 支付服务不可用",
        text="**checkout** 返回 503 已 5 分钟\n影响：所有下单请求",
        key="notification-42-opened-li.lei",
        payload={"incident": {"id": 42, "title": "支付服务不可用"}, "reason": "opened"},
        recipient=person(),
        link=LINK,
        ack_link=ACK,
        link_label="查看事件",
        ack_label="认领",
    )
    return dataclasses.replace(base, **changes)


def dingtalk_channel(secret: str | None = None, url: str = DINGTALK_URL) -> DingTalkChannel:
    return DingTalkChannel.model_validate({"type": "dingtalk", "url": url, "secret": secret})


def feishu_channel(secret: str | None = None) -> FeishuChannel:
    return FeishuChannel.model_validate({"type": "feishu", "url": FEISHU_URL, "secret": secret})


def test_a_dingtalk_message_is_markdown_with_its_title_text_and_links() -> None:
    request = dingtalk.request(dingtalk_channel(), message(recipient=None), now=NOW)

    assert request.url == DINGTALK_URL
    assert request.headers == {"Content-Type": "application/json"}
    assert request.json["msgtype"] == "markdown"
    assert request.json["markdown"]["title"] == "[P1] 支付服务不可用"
    text = request.json["markdown"]["text"]
    assert text.startswith("**checkout** 返回 503 已 5 分钟\n影响：所有下单请求")
    assert f"[查看事件]({LINK})" in text and f"[认领]({ACK})" in text
    assert request.json["at"] == {"atMobiles": [], "isAtAll": False}


def test_a_dingtalk_mention_puts_the_mobile_in_at_mobiles_and_in_the_text() -> None:
    body = dingtalk.request(dingtalk_channel(), message(), now=NOW).json

    assert body["at"] == {"atMobiles": ["13800138000"], "isAtAll": False}
    assert body["markdown"]["text"].endswith("\n\n@13800138000")


def test_a_dingtalk_user_id_is_mentioned_rather_than_the_mobile() -> None:
    known = message(recipient=person(chat_ids={"dingtalk": "manager4521"}))

    body = dingtalk.request(dingtalk_channel(), known, now=NOW).json

    assert body["at"] == {"atMobiles": [], "atUserIds": ["manager4521"], "isAtAll": False}
    assert body["markdown"]["text"].endswith("\n\n@manager4521")


def test_a_mention_the_template_wrote_is_not_written_twice() -> None:
    written = message(text="@13800138000 请处理 checkout 故障")

    text = dingtalk.request(dingtalk_channel(), written, now=NOW).json["markdown"]["text"]

    assert text.count("@13800138000") == 1


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("13800138000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("0086 13800138000", "13800138000"),
        ("+852 6123 4567", "+852-61234567"),
        ("+1 (415) 555-0100", "+1-4155550100"),
        ("+44 7700 900123", "+44-7700900123"),
        ("+7 912 345 67 89", "+7-9123456789"),
        ("ext. 42", None),
        (None, None),
    ],
)
def test_a_phone_is_written_as_the_chinese_robots_take_a_mobile(
    phone: str | None, expected: str | None
) -> None:
    assert robot_mobile(phone) == expected


def test_a_phone_splits_into_its_country_code_and_number() -> None:
    assert split_phone("+353 85 123 4567") == ("353", "851234567")
    assert split_phone("+49 1512 3456789") == ("49", "15123456789")
    assert split_phone("021-6888 8888") == (None, "02168888888")


def test_a_dingtalk_message_with_a_secret_is_signed_as_dingtalk_checks_it() -> None:
    secret = "SEC000000000000000000000000000000000000000000000000000000000000000a"

    request = dingtalk.request(dingtalk_channel(secret), message(), now=NOW)

    query = parse_qs(urlsplit(request.url).query)
    assert query["access_token"] == ["t0ken"]
    assert query["timestamp"] == [NOW_MS]
    to_sign = f"{NOW_MS}\n{secret}".encode()
    expected = base64.b64encode(hmac.new(secret.encode(), to_sign, hashlib.sha256).digest())
    assert query["sign"] == [expected.decode()]
    assert request.url.endswith(f"&sign={quote_plus(expected.decode())}")
    assert secret not in request.url and secret not in json.dumps(request.json)


def test_a_signed_dingtalk_url_without_a_query_gets_one() -> None:
    channel = dingtalk_channel("s", url="https://robot.example/send")

    url = dingtalk.request(channel, message(), now=NOW).url

    assert url.startswith(f"https://robot.example/send?timestamp={NOW_MS}&sign=")


def test_signing_needs_a_time_with_its_zone() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        dingtalk.request(dingtalk_channel("s"), message(), now=NOW.replace(tzinfo=None))


def test_a_long_dingtalk_message_is_cut_to_dingtalk_limit_keeping_the_mention() -> None:
    long = message(text="告警详情 " * 3000)

    body = dingtalk.request(dingtalk_channel(), long, now=NOW).json

    assert body_size(body) <= dingtalk.MAX_BODY_BYTES
    assert body["markdown"]["text"].endswith("@13800138000")
    assert "…" in body["markdown"]["text"]


def test_a_wecom_recipient_with_a_user_id_is_mentioned_in_a_markdown_message() -> None:
    request = wecom.request(WeComChannel(type="wecom", url=WECOM_URL), message(), now=NOW)

    assert request.url == WECOM_URL
    assert request.json["msgtype"] == "markdown"
    content = request.json["markdown"]["content"]
    assert content.startswith("**[P1] 支付服务不可用**\n**checkout**")
    assert content.endswith("\n<@LiLei>")
    assert f"[认领]({ACK})" in content


def test_a_wecom_recipient_known_only_by_phone_is_mentioned_in_a_text_message() -> None:
    only_phone = message(recipient=person(chat_ids={}))

    body = wecom.request(WeComChannel(type="wecom", url=WECOM_URL), only_phone, now=NOW).json

    assert body["msgtype"] == "text"
    assert body["text"]["mentioned_mobile_list"] == ["13800138000"]
    assert body["text"]["content"].startswith("[P1] 支付服务不可用\n**checkout**")
    assert body["text"]["content"].endswith(f"认领: {ACK}")


def test_a_wecom_group_message_mentions_nobody() -> None:
    body = wecom.request(
        WeComChannel(type="wecom", url=WECOM_URL), message(recipient=None), now=NOW
    ).json

    assert body["msgtype"] == "markdown"
    assert "<@" not in body["markdown"]["content"]


def test_a_long_wecom_message_is_cut_to_4096_bytes_keeping_the_mention() -> None:
    long = message(text="数据库连接池耗尽\n" * 600)

    body = wecom.request(WeComChannel(type="wecom", url=WECOM_URL), long, now=NOW).json

    content = body["markdown"]["content"]
    assert len(content.encode()) <= wecom.MAX_MARKDOWN_BYTES
    assert content.endswith("<@LiLei>")


def test_a_feishu_message_is_a_card_with_a_header_markdown_and_buttons() -> None:
    request = feishu.request(feishu_channel(), message(), now=NOW)

    assert request.url == FEISHU_URL
    assert "timestamp" not in request.json and "sign" not in request.json
    assert request.json["msg_type"] == "interactive"
    card = request.json["card"]
    assert card["header"] == {
        "title": {"tag": "plain_text", "content": "[P1] 支付服务不可用"},
        "template": "red",
    }
    markdown, action = card["elements"]
    assert markdown["tag"] == "markdown"
    assert markdown["content"].endswith("\n<at id=ou_7d8a6e6df7621556ce0d21922b676706></at>")
    assert [(b["text"]["content"], b["url"], b["type"]) for b in action["actions"]] == [
        ("查看事件", LINK, "primary"),
        ("认领", ACK, "default"),
    ]


def test_a_resolved_feishu_card_is_green() -> None:
    card = feishu.request(feishu_channel(), message(kind="resolved"), now=NOW).json["card"]

    assert card["header"]["template"] == "green"


def test_a_feishu_message_with_a_secret_carries_feishu_signature() -> None:
    secret = "feishu-s3cret"

    body = feishu.request(feishu_channel(secret), message(), now=NOW).json

    assert body["timestamp"] == "1795302005"
    key = f"1795302005\n{secret}".encode()
    expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert body["sign"] == expected
    assert secret not in json.dumps(body)


def test_a_slack_message_has_a_fallback_a_header_sections_and_links() -> None:
    request = slack.request(SlackChannel(type="slack", url=SLACK_URL), message(), now=NOW)

    body = request.json
    assert body["text"] == "<@U024BE7LH> [P1] 支付服务不可用"
    header, section, context = body["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": "[P1] 支付服务不可用"},
    }
    assert section["text"]["type"] == "mrkdwn"
    assert section["text"]["text"].startswith("<@U024BE7LH> **checkout**")
    links = context["elements"][0]["text"]
    assert links == (
        f"<{LINK}|查看事件> · <https://slakeeper.example/ack/42?token=abc&amp;person=li.lei|认领>"
    )


def test_a_slack_title_is_escaped_in_the_fallback_and_cut_in_the_header() -> None:
    long_title = "CPU > 90% & <rising> " + "x" * 200

    body = slack.request(
        SlackChannel(type="slack", url=SLACK_URL),
        message(title=long_title, recipient=None),
        now=NOW,
    ).json

    assert body["text"].startswith("CPU &gt; 90% &amp; &lt;rising&gt; ")
    assert len(body["blocks"][0]["text"]["text"]) == slack.MAX_HEADER_CHARS


def test_long_slack_text_is_split_into_sections_at_line_ends() -> None:
    text = "\n".join(f"line {n:05d} " + "y" * 60 for n in range(200))

    parts = slack.sections(text, most=48)

    assert all(len(part) <= slack.MAX_SECTION_CHARS for part in parts)
    assert "\n".join(parts) == text
    assert all(part.startswith("line ") for part in parts)


def test_webhook_without_a_template_posts_the_payload_with_an_idempotency_key() -> None:
    channel = WebhookChannel(
        type="webhook", url="https://hooks.example/in", headers={"X-Team": "pay"}
    )

    request = webhook.request(channel, message(), now=NOW)

    assert request.json == {"incident": {"id": 42, "title": "支付服务不可用"}, "reason": "opened"}
    assert request.content is None
    assert request.headers == {
        "X-Team": "pay",
        "Content-Type": "application/json",
        "Idempotency-Key": "notification-42-opened-li.lei",
    }


def test_a_webhook_template_renders_the_body_from_message_recipient_and_incident() -> None:
    template = (
        '{"summary": {{ message.title | tojson }}, "who": {{ recipient.display_name | tojson }},'
        ' "incident": {{ incident.id }}, "reason": {{ payload.reason | tojson }},'
        ' "recipient": {{ recipient | tojson }}}'
    )
    channel = WebhookChannel(type="webhook", url="https://hooks.example/in", template=template)

    request = webhook.request(channel, message(), now=NOW)

    assert request.json is None and request.content is not None
    body = json.loads(request.content)
    assert body["summary"] == "[P1] 支付服务不可用"
    assert body["who"] == "李雷" and body["incident"] == 42 and body["reason"] == "opened"
    assert body["recipient"]["chat_ids"]["slack"] == "U024BE7LH"
    assert request.headers["Content-Type"] == "application/json"
    assert "支付服务不可用".encode() in request.content


def test_a_webhook_with_its_own_content_type_gets_its_template_as_written() -> None:
    channel = WebhookChannel(
        type="webhook",
        url="https://hooks.example/in",
        headers={"content-type": "text/plain; charset=utf-8", "Idempotency-Key": "theirs"},
        template="incident {{ incident.id }}: {{ message.title }}",
    )

    request = webhook.request(channel, message(), now=NOW)

    assert request.content == "incident 42: [P1] 支付服务不可用".encode()
    assert request.headers == {
        "content-type": "text/plain; charset=utf-8",
        "Idempotency-Key": "notification-42-opened-li.lei",
    }


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ('{"who": {{ recipient.nickname | tojson }}}', "the template failed"),
        ("{{ message.__class__.__mro__ }}", "the template failed"),
        ('{"title": {{ message.title }}}', "did not render JSON"),
    ],
)
def test_a_webhook_template_that_fails_says_why(template: str, problem: str) -> None:
    channel = WebhookChannel(type="webhook", url="https://hooks.example/in", template=template)

    with pytest.raises(webhook.WebhookTemplateFailed, match=problem):
        webhook.request(channel, message(), now=NOW)


@pytest.mark.parametrize(
    "channel",
    [
        dingtalk_channel("s"),
        WeComChannel(type="wecom", url=WECOM_URL),
        feishu_channel("s"),
        SlackChannel(type="slack", url=SLACK_URL),
        WebhookChannel(type="webhook", url="https://hooks.example/in"),
    ],
    ids=lambda channel: channel.type,
)
def test_each_http_channel_is_built_by_its_own_module(channel: Any) -> None:
    modules = {"dingtalk": dingtalk, "wecom": wecom, "feishu": feishu, "slack": slack}
    module = modules.get(channel.type, webhook)

    assert http_request(channel, message(), now=NOW) == module.request(channel, message(), now=NOW)


@pytest.mark.parametrize(
    ("check", "status", "body"),
    [
        (dingtalk.check, 200, b'{"errcode":0,"errmsg":"ok"}'),
        (wecom.check, 200, b'{"errcode":0,"errmsg":"ok"}'),
        (feishu.check, 200, b'{"code":0,"data":{},"msg":"success"}'),
        (feishu.check, 200, b'{"Extra":null,"StatusCode":0,"StatusMessage":"success"}'),
        (slack.check, 200, b"ok"),
        (webhook.check, 204, b""),
    ],
)
def test_a_service_that_took_the_message_is_not_refused(
    check: Any, status: int, body: bytes
) -> None:
    check(status, body)


@pytest.mark.parametrize(
    ("check", "status", "body", "reason"),
    [
        (
            dingtalk.check,
            200,
            b'{"errcode":310000,"errmsg":"sign not match"}',
            "errcode 310000: sign not match",
        ),
        (
            dingtalk.check,
            200,
            b'{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}',
            "errcode 130101: send too fast, exceed 20 times per minute",
        ),
        (dingtalk.check, 200, b"<html>gateway</html>", "unexpected answer: <html>gateway</html>"),
        (dingtalk.check, 200, b'{"ok": true}', 'unexpected answer: {"ok": true}'),
        (
            wecom.check,
            200,
            b'{"errcode":93000,"errmsg":"invalid webhook url, hint: [1]"}',
            "errcode 93000: invalid webhook url, hint: [1]",
        ),
        (
            feishu.check,
            200,
            b'{"code":19021,"data":{},"msg":"sign match fail or timestamp is not within '
            b'one hour from current time"}',
            "code 19021: sign match fail or timestamp is not within one hour from current time",
        ),
        (feishu.check, 400, b'{"code":9499,"msg":"Bad Request","data":{}}', "HTTP 400: "),
        (
            feishu.check,
            200,
            b'{"StatusCode":19024,"StatusMessage":"Key Words Not Found"}',
            "code 19024",
        ),
        (slack.check, 404, b"no_service", "HTTP 404: no_service"),
        (slack.check, 400, b"invalid_payload", "HTTP 400: invalid_payload"),
        (slack.check, 200, b"queued", "unexpected answer: queued"),
        (webhook.check, 503, b"x" * 500, "HTTP 503: " + "x" * 200),
    ],
)
def test_a_service_that_said_no_is_refused_with_its_reason(
    check: Any, status: int, body: bytes, reason: str
) -> None:
    with pytest.raises(ChannelRefused) as refused:
        check(status, body)

    assert str(refused.value).startswith(reason)


def test_a_refusal_never_repeats_a_url_from_the_answer() -> None:
    body = b"Cannot POST https://oapi.dingtalk.com/robot/send?access_token=t0ken (gone)"

    with pytest.raises(ChannelRefused) as refused:
        check_answer(dingtalk_channel(), 502, body)

    assert str(refused.value) == "HTTP 502: Cannot POST <url> (gone)"


def test_an_email_goes_to_the_recipient_and_the_channel_addresses_once_each() -> None:
    channel = EmailChannel(type="email", to=["oncall@example.com", "Li.Lei@example.com"])

    mail = compose(
        channel,
        message(html="<p>支付服务不可用</p>"),
        sender="Slakeeper <sla@example.com>",
        now=NOW,
    )

    assert mail["To"].addresses[0].display_name == "李雷"
    assert [a.addr_spec for a in mail["To"].addresses] == [
        "li.lei@example.com",
        "oncall@example.com",
    ]
    assert mail["Subject"] == "[P1] 支付服务不可用"
    assert mail["From"] == "Slakeeper <sla@example.com>"
    assert mail["X-Slakeeper-Key"] == "notification-42-opened-li.lei"
    digest = hashlib.sha256(b"notification-42-opened-li.lei").hexdigest()[:32]
    assert mail["Message-ID"] == f"<{digest}@example.com>"
    assert mail["Date"].datetime == NOW.replace(microsecond=0)
    plain, html = mail.iter_parts()
    assert plain.get_content_type() == "text/plain" and "503" in plain.get_content()
    assert html.get_content_type() == "text/html" and "支付服务不可用" in html.get_content()


def test_an_email_without_any_address_is_refused() -> None:
    nobody = message(recipient=person(email=None))

    with pytest.raises(ChannelRefused, match="no e-mail address"):
        compose(EmailChannel(type="email"), nobody, sender="sla@example.com")


def test_smtp_settings_keep_the_password_out_of_their_repr() -> None:
    settings = SmtpSettings(
        "smtp.example.com", 587, "starttls", "sla", "pa55word", "sla@example.com"
    )

    assert "pa55word" not in repr(settings)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"port": 0}, "invalid SMTP port"),
        ({"security": "ssl"}, "invalid SMTP security"),
        ({"password": None}, "set both or neither"),
        ({"timeout_seconds": 0}, "timeout is positive"),
        ({"sender": "nobody"}, "invalid sender"),
    ],
)
def test_smtp_settings_refuse_what_cannot_work(changes: dict[str, Any], problem: str) -> None:
    fields = {
        "host": "smtp.example.com",
        "port": 587,
        "security": "starttls",
        "username": "sla",
        "password": "pa55word",
        "sender": "sla@example.com",
    }
    with pytest.raises(ValueError, match=problem):
        SmtpSettings(**{**fields, **changes})
