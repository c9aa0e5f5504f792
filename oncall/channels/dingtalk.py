"""A DingTalk group robot (自定义机器人): a `markdown` message, signed (加签) when the channel
has a secret (pure: builds the request, reads the answer).

A mention names the person twice: in `at` (`atUserIds` with the recipient's DingTalk user id
from `chat_ids["dingtalk"]`, else `atMobiles` with their mobile), and as `@<id or mobile>` in
the text, where DingTalk shows it; the text gets it at its end unless the template wrote it. A
mainland mobile is written as its digits, another as `+<code>-<number>`. Links the text does
not carry are added as Markdown links. The body is kept under DingTalk's 20,000 bytes (errcode
460101), cutting the text. A robot takes 20 messages a minute (more: errcode 130101).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from oncall.channels.answers import json_answer, refuse_errcode, refuse_http_error
from oncall.channels.base import HttpRequest, Message
from oncall.channels.layout import fit_body, links_to_add
from oncall.channels.phones import robot_mobile
from rules.reaching import DingTalkChannel

__all__ = ["MAX_BODY_BYTES", "check", "request", "signature", "signed_url"]

MAX_BODY_BYTES = 20_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def request(channel: DingTalkChannel, message: Message, *, now: datetime) -> HttpRequest:
    """The POST that shows `message` in the robot's group, @-mentioning its recipient."""
    at, mentioned = _at(message)
    ending = _ending(message, mentioned)

    def build(text: str) -> dict[str, Any]:
        return {
            "msgtype": "markdown",
            "markdown": {"title": message.title, "text": text + ending},
            "at": at,
        }

    body = fit_body(build, message.text, max_bytes=MAX_BODY_BYTES)
    url = channel.url
    if channel.secret is not None:
        url = signed_url(url, channel.secret.get_secret_value(), now=now)
    return HttpRequest(url=url, headers={"Content-Type": "application/json"}, json=body)


def _at(message: Message) -> tuple[dict[str, Any], str | None]:
    """The `at` object, and who the text must @: the DingTalk user id, else the mobile."""
    recipient = message.recipient
    user_id = recipient.chat_ids.get("dingtalk") if recipient is not None else None
    if user_id is not None:
        return {"atMobiles": [], "atUserIds": [user_id], "isAtAll": False}, user_id
    mobile = robot_mobile(recipient.phone) if recipient is not None else None
    return {"atMobiles": [mobile] if mobile else [], "isAtAll": False}, mobile


def _ending(message: Message, mentioned: str | None) -> str:
    ending = ""
    links = links_to_add(message)
    if links:
        ending += "\n\n" + " | ".join(f"[{label}]({url})" for label, url in links)
    if mentioned is not None and f"@{mentioned}" not in message.text:
        ending += f"\n\n@{mentioned}"
    return ending


def signature(secret: str, timestamp: str) -> str:
    """DingTalk's `sign` before URL-encoding: base64 of HMAC-SHA256 of
    "<timestamp>\\n<secret>", keyed with the secret."""
    string_to_sign = f"{timestamp}\n{secret}".encode()
    digest = hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signed_url(url: str, secret: str, *, now: datetime) -> str:
    """`url` with `timestamp` (milliseconds) and `sign` added to its query."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    timestamp = str((now - _EPOCH) // timedelta(milliseconds=1))
    parts = urlsplit(url)
    added = urlencode({"timestamp": timestamp, "sign": signature(secret, timestamp)})
    query = f"{parts.query}&{added}" if parts.query else added
    return urlunsplit(parts._replace(query=query))


def check(status: int, body: bytes) -> None:
    """Raise `ChannelRefused` unless DingTalk answered `{"errcode": 0}`."""
    refuse_http_error(status, body)
    refuse_errcode(json_answer(body))
