"""Channels a contact is reached on: what a message becomes on the wire, and whether the
service took it. The HTTP ones (chat robots and webhooks) are pure; `email` sends."""

from __future__ import annotations

from datetime import datetime

from oncall.channels import dingtalk, feishu, slack, webhook, wecom
from oncall.channels.base import HttpRequest, Message
from rules.reaching import (
    DingTalkChannel,
    FeishuChannel,
    SlackChannel,
    WebhookChannel,
    WeComChannel,
)

__all__ = ["HttpChannel", "check_answer", "http_request"]

HttpChannel = DingTalkChannel | WeComChannel | FeishuChannel | SlackChannel | WebhookChannel


def http_request(channel: HttpChannel, message: Message, *, now: datetime) -> HttpRequest:
    """The POST that delivers `message` on `channel`."""
    match channel:
        case DingTalkChannel():
            return dingtalk.request(channel, message, now=now)
        case WeComChannel():
            return wecom.request(channel, message, now=now)
        case FeishuChannel():
            return feishu.request(channel, message, now=now)
        case SlackChannel():
            return slack.request(channel, message, now=now)
        case WebhookChannel():
            return webhook.request(channel, message, now=now)


def check_answer(channel: HttpChannel, status: int, body: bytes) -> None:
    """Raise `ChannelRefused` unless the answer says `channel`'s service took the message."""
    match channel:
        case DingTalkChannel():
            dingtalk.check(status, body)
        case WeComChannel():
            wecom.check(status, body)
        case FeishuChannel():
            feishu.check(status, body)
        case SlackChannel():
            slack.check(status, body)
        case WebhookChannel():
            webhook.check(status, body)
