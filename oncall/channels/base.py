"""What every channel shares: the message to deliver, whom it is for, and the HTTP request a
chat robot or webhook is sent as (pure: no I/O here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ChannelRefused", "HttpRequest", "Message", "Recipient"]


@dataclass(frozen=True, slots=True)
class Recipient:
    """The person a message is for (the one on shift, or a named person), as their profile
    says how to reach them; `chat_ids` by tool: `dingtalk`, `wecom`, `feishu`, `slack`."""

    username: str
    display_name: str
    language: str
    email: str | None = None
    phone: str | None = None
    chat_ids: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Message:
    """One message, worded for its reader and laid out for its channel by a template.

    `title` is one line (a chat's notification, an e-mail's subject); `text` is the body in
    the channel's markup (Markdown for DingTalk, WeCom and Feishu; Slack's mrkdwn; plain text
    for e-mail, with `html` beside it). `payload` is the JSON the `webhook` channel sends when
    it has no template of its own; `key` is the outbox message's unique key, sent as
    `Idempotency-Key` where the receiver allows headers.
    """

    kind: str
    title: str
    text: str
    key: str
    payload: Mapping[str, Any]
    recipient: Recipient | None = None
    html: str | None = None
    link: str | None = None  # the incident's page in the console
    ack_link: str | None = None  # acknowledges the incident as the recipient
    # The words on `link` and `ack_link` where a channel shows them as buttons or links.
    link_label: str = "Open incident"
    ack_label: str = "Acknowledge"


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """A POST to make: JSON `json`, or raw `content` with its own Content-Type in `headers`."""

    url: str
    headers: Mapping[str, str]
    json: Any = None
    content: bytes | None = None


class ChannelRefused(Exception):
    """The receiver answered but did not take the message (a robot's non-zero `errcode`)."""
