"""A WeCom (企业微信) group robot: a `markdown` message, or a `text` one to mention by mobile
(pure: builds the request, reads the answer).

WeCom's `markdown` message mentions a person only by user id (`<@userid>`, from
`chat_ids["wecom"]`, which only a WeCom administrator can look up); only the `text` message
mentions by mobile (`mentioned_mobile_list`), and it shows the text as written, Markdown marks
and all. For on call, being notified comes first: a recipient with a WeCom user id gets a
markdown message mentioning them, one with only a phone a text message mentioning them, anyone
else a markdown message. WeCom markdown has no title field: the title opens the content unless
the text carries it. Links the text does not carry are added. Limits: markdown content 4,096
bytes (errcode 40058), text content 2,048 bytes; 20 messages a minute per robot (errcode 45009).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from oncall.channels.answers import json_answer, refuse_errcode, refuse_http_error
from oncall.channels.base import HttpRequest, Message
from oncall.channels.layout import cut_to_bytes, links_to_add
from oncall.channels.phones import robot_mobile
from rules.reaching import WeComChannel

__all__ = ["MAX_MARKDOWN_BYTES", "MAX_TEXT_BYTES", "check", "request"]

MAX_MARKDOWN_BYTES = 4096
MAX_TEXT_BYTES = 2048


def request(channel: WeComChannel, message: Message, *, now: datetime) -> HttpRequest:
    """The POST that shows `message` in the robot's group, mentioning its recipient if known."""
    recipient = message.recipient
    user_id = recipient.chat_ids.get("wecom") if recipient is not None else None
    mobile = None
    if recipient is not None and user_id is None:
        mobile = robot_mobile(recipient.phone)
    body = _markdown(message, user_id) if mobile is None else _text(message, mobile)
    return HttpRequest(url=channel.url, headers={"Content-Type": "application/json"}, json=body)


def _markdown(message: Message, user_id: str | None) -> dict[str, Any]:
    text = message.text
    if message.title not in text:
        text = f"**{message.title}**\n{text}"
    ending = "".join(f"\n[{label}]({url})" for label, url in links_to_add(message))
    if user_id is not None and f"<@{user_id}>" not in text:
        ending += f"\n<@{user_id}>"
    content = cut_to_bytes(text, MAX_MARKDOWN_BYTES - len(ending.encode())) + ending
    return {"msgtype": "markdown", "markdown": {"content": content}}


def _text(message: Message, mobile: str) -> dict[str, Any]:
    text = message.text if message.title in message.text else f"{message.title}\n{message.text}"
    ending = "".join(f"\n{label}: {url}" for label, url in links_to_add(message))
    content = cut_to_bytes(text, MAX_TEXT_BYTES - len(ending.encode())) + ending
    return {"msgtype": "text", "text": {"content": content, "mentioned_mobile_list": [mobile]}}


def check(status: int, body: bytes) -> None:
    """Raise `ChannelRefused` unless WeCom answered `{"errcode": 0}`."""
    refuse_http_error(status, body)
    refuse_errcode(json_answer(body))
