"""Each channel's request sent over HTTP (or SMTP) to a receiver that checks it as the real
service does, and the receiver's answer read back."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from oncall.channels import HttpChannel, check_answer, http_request
from oncall.channels.base import ChannelRefused, HttpRequest, Message, Recipient
from oncall.channels.email import SmtpSettings, compose, send_email
from rules.reaching import (
    DingTalkChannel,
    EmailChannel,
    FeishuChannel,
    SlackChannel,
    WebhookChannel,
    WeComChannel,
)
from tests.integration.chat_receivers import (
    ChatReceiver,
    DingTalkRobot,
    FeishuBot,
    JsonWebhook,
    MailReceiver,
    SlackWebhook,
    WeComRobot,
)

DINGTALK_SECRET = "SECb5c6f0e2a8d94f1e9c3b7a6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5"
FEISHU_SECRET = "qOiUvYxEJ8Z6LnqBf5tG3c"
CHINESE = "【严重】支付网关超时率 37%，影响华东区所有下单请求；请值班同学立即处理。"
SMTP_USER, SMTP_PASSWORD = "slakeeper", "c0rrect-h0rse"


def person(**changes: Any) -> Recipient:
    base = Recipient(
        username="han.meimei",
        display_name="韩梅梅",
        language="zh-CN",
        email="han.meimei@example.com",
        phone="+86 139 1234 5678",
        chat_ids={
            "wecom": "HanMeimei",
            "feishu": "ou_84aad35d084aa403a838cf73ee18467",
            "slack": "U0G9QF9C6",
        },
    )
    return dataclasses.replace(base, **changes)


def message(key: str = "notification-7-opened-han.meimei", **changes: Any) -> Message:
    base = Message(
        kind="opened",
        title="[P1] 支付网关超时",
        text=f"**payments** 超时 5 分钟\n{CHINESE}",
        key=key,
        payload={"incident": {"id": 7, "title": "支付网关超时"}, "text": CHINESE},
        recipient=person(),
        html=f"<p><b>payments</b> {CHINESE}</p>",
        link="https://slakeeper.example/incidents/7",
        ack_link="https://slakeeper.example/ack/7?token=t",
        link_label="查看事件",
        ack_label="认领",
    )
    return dataclasses.replace(base, **changes)


def post(request: HttpRequest) -> httpx.Response:
    """Send a request the way the outbox does: `json=` or raw `content`."""
    return httpx.post(
        request.url,
        headers=dict(request.headers),
        json=request.json,
        content=request.content,
        timeout=5,
    )


def deliver(channel: HttpChannel, sent: Message, *, now: datetime | None = None) -> None:
    """Build, send and check: raises ChannelRefused when the receiver says no."""
    request = http_request(channel, sent, now=now or datetime.now(UTC))
    response = post(request)
    check_answer(channel, response.status_code, response.content)


@pytest.fixture
def dingtalk_robot() -> Iterator[DingTalkRobot]:
    with DingTalkRobot(secret=DINGTALK_SECRET) as robot:
        yield robot


@pytest.fixture
def feishu_bot() -> Iterator[FeishuBot]:
    with FeishuBot(secret=FEISHU_SECRET) as bot:
        yield bot


@pytest.fixture
def wecom_robot() -> Iterator[WeComRobot]:
    with WeComRobot() as robot:
        yield robot


@pytest.fixture
def slack_webhook() -> Iterator[SlackWebhook]:
    with SlackWebhook() as webhook:
        yield webhook


def dingtalk(robot: ChatReceiver, secret: str = DINGTALK_SECRET) -> DingTalkChannel:
    return DingTalkChannel.model_validate({"type": "dingtalk", "url": robot.url, "secret": secret})


def feishu(bot: ChatReceiver, secret: str = FEISHU_SECRET) -> FeishuChannel:
    return FeishuChannel.model_validate({"type": "feishu", "url": bot.url, "secret": secret})


def test_a_signed_dingtalk_message_is_taken_and_mentions_the_recipient(
    dingtalk_robot: DingTalkRobot,
) -> None:
    deliver(dingtalk(dingtalk_robot), message())

    (taken,) = dingtalk_robot.taken
    assert taken.verdict.mentioned == ("13912345678",)
    assert taken.request.body["markdown"]["title"] == "[P1] 支付网关超时"


def test_a_dingtalk_message_to_a_known_user_id_mentions_them(
    dingtalk_robot: DingTalkRobot,
) -> None:
    deliver(dingtalk(dingtalk_robot), message(recipient=person(chat_ids={"dingtalk": "hmm01"})))

    (taken,) = dingtalk_robot.taken
    assert taken.verdict.mentioned == ("hmm01",)


def test_a_dingtalk_message_signed_with_a_wrong_secret_is_refused_as_sign_not_match(
    dingtalk_robot: DingTalkRobot,
) -> None:
    with pytest.raises(ChannelRefused) as refused:
        deliver(dingtalk(dingtalk_robot, secret="SECnot-the-robot-secret"), message())

    assert str(refused.value) == "errcode 310000: sign not match"
    assert dingtalk_robot.taken == []
    assert "SECnot-the-robot-secret" not in str(refused.value)


def test_a_dingtalk_message_signed_over_an_hour_ago_is_refused_as_an_invalid_timestamp(
    dingtalk_robot: DingTalkRobot,
) -> None:
    stale = datetime.now(UTC) - timedelta(hours=1, minutes=1)

    with pytest.raises(ChannelRefused, match="errcode 310000: invalid timestamp"):
        deliver(dingtalk(dingtalk_robot), message(), now=stale)


def test_a_wecom_markdown_message_mentioning_a_user_id_is_taken(wecom_robot: WeComRobot) -> None:
    deliver(WeComChannel(type="wecom", url=wecom_robot.url), message())

    (taken,) = wecom_robot.taken
    assert taken.request.body["msgtype"] == "markdown"
    assert taken.verdict.mentioned == ("HanMeimei",)


def test_a_wecom_text_message_mentioning_a_mobile_is_taken(wecom_robot: WeComRobot) -> None:
    deliver(WeComChannel(type="wecom", url=wecom_robot.url), message(recipient=person(chat_ids={})))

    (taken,) = wecom_robot.taken
    assert taken.request.body["msgtype"] == "text"
    assert taken.verdict.mentioned == ("13912345678",)


def test_a_wecom_message_longer_than_wecom_takes_arrives_cut_to_fit(
    wecom_robot: WeComRobot,
) -> None:
    long = message(text=CHINESE * 100)
    channel = WeComChannel(type="wecom", url=wecom_robot.url)
    uncut = HttpRequest(
        wecom_robot.url, {}, json={"msgtype": "markdown", "markdown": {"content": long.text}}
    )
    response = post(uncut)
    with pytest.raises(ChannelRefused, match="errcode 40058"):
        check_answer(channel, response.status_code, response.content)

    deliver(channel, long)

    (taken,) = wecom_robot.taken
    assert taken.verdict.mentioned == ("HanMeimei",)


def test_a_signed_feishu_card_is_taken_and_mentions_the_recipient(feishu_bot: FeishuBot) -> None:
    deliver(feishu(feishu_bot), message())

    (taken,) = feishu_bot.taken
    assert taken.verdict.mentioned == ("ou_84aad35d084aa403a838cf73ee18467",)
    buttons = taken.request.body["card"]["elements"][1]["actions"]
    assert [button["text"]["content"] for button in buttons] == ["查看事件", "认领"]


def test_a_feishu_card_signed_with_a_wrong_secret_is_refused_with_code_19021(
    feishu_bot: FeishuBot,
) -> None:
    with pytest.raises(ChannelRefused) as refused:
        deliver(feishu(feishu_bot, secret="not-the-bot-secret"), message())

    assert str(refused.value) == (
        "code 19021: sign match fail or timestamp is not within one hour from current time"
    )
    assert feishu_bot.taken == []


def test_a_slack_message_is_taken_and_mentions_the_recipient(slack_webhook: SlackWebhook) -> None:
    long = message(text="\n".join(f"{n:03d} {CHINESE}" for n in range(200)))

    deliver(SlackChannel(type="slack", url=slack_webhook.url), long)

    (taken,) = slack_webhook.taken
    assert taken.verdict.mentioned == ("U0G9QF9C6",)
    assert len(taken.request.body["blocks"]) > 3


def test_a_slack_webhook_that_is_gone_is_refused_with_its_word(
    slack_webhook: SlackWebhook,
) -> None:
    gone = SlackChannel(type="slack", url=slack_webhook.base_url + "/services/T0/B0/revoked")

    with pytest.raises(ChannelRefused) as refused:
        deliver(gone, message())

    assert str(refused.value) == "HTTP 404: no_service"


def test_a_webhook_body_from_a_template_arrives_with_its_headers() -> None:
    template = '{"id": {{ incident.id }}, "title": {{ message.title | tojson }}}'
    with JsonWebhook() as hook:
        channel = WebhookChannel(
            type="webhook", url=hook.url, headers={"Authorization": "Bearer x"}, template=template
        )
        deliver(channel, message())

    (taken,) = hook.taken
    assert taken.request.body == {"id": 7, "title": "[P1] 支付网关超时"}
    assert taken.request.headers["authorization"] == "Bearer x"
    assert taken.request.headers["idempotency-key"] == "notification-7-opened-han.meimei"
    assert taken.request.headers["content-type"] == "application/json"


def test_a_robot_that_fails_is_refused_and_the_retries_are_taken_in_order(
    dingtalk_robot: DingTalkRobot,
) -> None:
    channel = dingtalk(dingtalk_robot)
    first, second = message("first"), message("second", title="[P2] 第二条")
    dingtalk_robot.fail_next(2, status=500)

    for _ in range(2):
        with pytest.raises(ChannelRefused, match="HTTP 500: internal error"):
            deliver(channel, first)
    deliver(channel, first)
    deliver(channel, second)

    assert [e.verdict.status for e in dingtalk_robot.received] == [500, 500, 200, 200]
    titles = [e.request.body["markdown"]["title"] for e in dingtalk_robot.taken]
    assert titles == ["[P1] 支付网关超时", "[P2] 第二条"]


def chat_channel(kind: str, receiver: ChatReceiver) -> HttpChannel:
    if kind == "dingtalk":
        return dingtalk(receiver)
    if kind == "feishu":
        return feishu(receiver)
    if kind == "slack":
        return SlackChannel(type="slack", url=receiver.url)
    if kind == "webhook":
        return WebhookChannel(type="webhook", url=receiver.url)
    return WeComChannel(type="wecom", url=receiver.url)


MALFORMED: list[tuple[Callable[[], ChatReceiver], Any, str]] = [
    (
        DingTalkRobot,
        {"msgtype": "markdown", "markdown": {"title": "t", "text": "x"}, "at": {"atMobiles": "1"}},
        '"errcode": 40035',
    ),
    (DingTalkRobot, {"msgtype": "markdown", "markdown": {"text": "x"}}, '"errcode": 40035'),
    (WeComRobot, {"msgtype": "markdown", "markdown": {"content": "长" * 1400}}, '"errcode": 40058'),
    (WeComRobot, {"msgtype": "image", "image": {}}, '"errcode": 40008'),
    (FeishuBot, {"msg_type": "interactive", "card": {"elements": []}}, '"code": 9499'),
    (FeishuBot, {"msg_type": "text", "content": {"text": ""}}, '"code": 9499'),
    (
        SlackWebhook,
        {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]},
        "invalid_blocks",
    ),
    (SlackWebhook, {"attachments": []}, "no_text"),
]


@pytest.mark.parametrize(("receiver_type", "body", "answer"), MALFORMED)
def test_each_robot_refuses_what_its_service_would_refuse(
    receiver_type: Callable[[], ChatReceiver], body: Any, answer: str
) -> None:
    with receiver_type() as receiver:
        response = post(HttpRequest(receiver.url, {"Content-Type": "application/json"}, json=body))

    assert answer in response.text
    assert receiver.taken == []


def test_a_dingtalk_mobile_missing_from_the_text_mentions_nobody() -> None:
    body = {
        "msgtype": "markdown",
        "markdown": {"title": "t", "text": "no mention here"},
        "at": {"atMobiles": ["13912345678"], "isAtAll": False},
    }
    with DingTalkRobot() as robot:
        post(HttpRequest(robot.url, {"Content-Type": "application/json"}, json=body))

    (taken,) = robot.taken
    assert taken.verdict.mentioned == ()


RECEIVERS: dict[str, Callable[[], ChatReceiver]] = {
    "dingtalk": lambda: DingTalkRobot(secret=DINGTALK_SECRET),
    "wecom": WeComRobot,
    "wecom-by-mobile": WeComRobot,
    "feishu": lambda: FeishuBot(secret=FEISHU_SECRET),
    "slack": SlackWebhook,
    "webhook": JsonWebhook,
}


@pytest.mark.parametrize("kind", list(RECEIVERS))
def test_chinese_text_arrives_intact_on_every_chat_channel(kind: str) -> None:
    sent = message(recipient=person(chat_ids={})) if kind == "wecom-by-mobile" else message()
    with RECEIVERS[kind]() as receiver:
        deliver(chat_channel(kind, receiver), sent)

    (taken,) = receiver.taken
    assert CHINESE in taken.request.raw.decode()


@pytest.fixture
def mail_server(tmp_path: Path) -> Iterator[MailReceiver]:
    with MailReceiver(tmp_path, user=SMTP_USER, password=SMTP_PASSWORD) as server:
        yield server


def smtp(server: MailReceiver, **changes: Any) -> SmtpSettings:
    settings = SmtpSettings(
        host=server.host,
        port=server.port,
        security="starttls",
        username=SMTP_USER,
        password=SMTP_PASSWORD,
        sender="Slakeeper 值班 <sla@example.com>",
        timeout_seconds=5,
        ca_file=server.ca_file,
    )
    return dataclasses.replace(settings, **changes)


def test_an_email_sent_over_starttls_with_a_login_arrives_with_both_parts(
    mail_server: MailReceiver,
) -> None:
    channel = EmailChannel(type="email", to=["oncall@example.com"])
    settings = smtp(mail_server)

    send_email(settings, compose(channel, message(), sender=settings.sender))

    (mail,) = mail_server.received
    assert mail.encrypted and mail.login == SMTP_USER
    assert mail.mail_from == "sla@example.com"
    assert sorted(mail.rcpt_tos) == ["han.meimei@example.com", "oncall@example.com"]
    received = mail.message
    assert received["Subject"] == "[P1] 支付网关超时"
    assert received["X-Slakeeper-Key"] == "notification-7-opened-han.meimei"
    assert [a.display_name for a in received["To"].addresses] == ["韩梅梅", ""]
    plain = received.get_body(("plain",))
    html = received.get_body(("html",))
    assert plain is not None and CHINESE in plain.get_content()
    assert html is not None and f"<p><b>payments</b> {CHINESE}</p>" in html.get_content()


def test_an_email_sent_over_implicit_tls_arrives(tmp_path: Path) -> None:
    with MailReceiver(
        tmp_path, user=SMTP_USER, password=SMTP_PASSWORD, implicit_tls=True
    ) as server:
        settings = smtp(server, security="tls")
        send_email(settings, compose(EmailChannel(type="email"), message(), sender=settings.sender))

    (mail,) = server.received
    assert mail.encrypted and mail.login == SMTP_USER
    assert mail.rcpt_tos == ("han.meimei@example.com",)


def test_an_email_with_a_wrong_password_is_refused_with_the_smtp_code(
    mail_server: MailReceiver,
) -> None:
    settings = smtp(mail_server, password="wr0ng-passw0rd")

    with pytest.raises(ChannelRefused) as refused:
        send_email(settings, compose(EmailChannel(type="email"), message(), sender=settings.sender))

    assert str(refused.value).startswith("SMTP 535")
    assert "wr0ng-passw0rd" not in str(refused.value)
    assert mail_server.received == []


def test_an_email_to_a_server_whose_certificate_is_not_trusted_is_refused(
    mail_server: MailReceiver,
) -> None:
    settings = smtp(mail_server, ca_file=None)

    with pytest.raises(ChannelRefused, match="CERTIFICATE_VERIFY_FAILED|certificate verify"):
        send_email(settings, compose(EmailChannel(type="email"), message(), sender=settings.sender))

    assert mail_server.received == []


def test_an_email_to_a_server_that_is_not_there_is_refused(mail_server: MailReceiver) -> None:
    settings = smtp(mail_server, port=1)

    with pytest.raises(ChannelRefused, match=r"SMTP 127\.0\.0\.1:1: SMTPConnectError"):
        send_email(settings, compose(EmailChannel(type="email"), message(), sender=settings.sender))
