"""A Feishu (飞书) / Lark custom bot: an `interactive` card, signed when the channel has a
secret (pure: builds the request, reads the answer).

The card (JSON 1.0: `config`, `header`, `elements`) has the title in its header, coloured by
the message's kind, the text in a `markdown` element, and a button for each link the text does
not carry. A custom bot mentions only by open_id: `<at id=ou_…></at>` in card Markdown (a
`text` message would take `<at user_id="ou_…">name</at>` instead), from `chat_ids["feishu"]`,
at the end of the text unless the template wrote it. The signature goes in the body:
`timestamp` (seconds, a string) and `sign`. The body is kept under Feishu's 20 KB, cutting the
text; a bot takes 100 messages a minute, 5 a second (more: code 11232).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

from oncall.channels.answers import json_answer, reason, refuse_http_error
from oncall.channels.base import ChannelRefused, HttpRequest, Message
from oncall.channels.layout import fit_body, links_to_add
from rules.reaching import FeishuChannel

__all__ = ["MAX_BODY_BYTES", "check", "request", "signature"]

MAX_BODY_BYTES = 20_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_COLOURS = {
    "opened": "red",
    "raised": "red",
    "escalation": "red",
    "breach": "carmine",
    "reopened": "orange",
    "resolved": "green",
    "closed": "grey",
}


def request(channel: FeishuChannel, message: Message, *, now: datetime) -> HttpRequest:
    """The POST that shows `message` as a card in the bot's group, mentioning its recipient."""
    signed: dict[str, Any] = {}
    if channel.secret is not None:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        timestamp = str((now - _EPOCH) // timedelta(seconds=1))
        sign = signature(channel.secret.get_secret_value(), timestamp)
        signed = {"timestamp": timestamp, "sign": sign}
    recipient = message.recipient
    open_id = recipient.chat_ids.get("feishu") if recipient is not None else None
    mention = ""
    if open_id is not None and f"<at id={open_id}></at>" not in message.text:
        mention = f"\n<at id={open_id}></at>"

    def build(text: str) -> dict[str, Any]:
        return {**signed, "msg_type": "interactive", "card": _card(message, text + mention)}

    body = fit_body(build, message.text, max_bytes=MAX_BODY_BYTES)
    return HttpRequest(url=channel.url, headers={"Content-Type": "application/json"}, json=body)


def _card(message: Message, text: str) -> dict[str, Any]:
    elements: list[dict[str, Any]] = [{"tag": "markdown", "content": text}]
    buttons = [
        {
            "tag": "button",
            "text": {"tag": "plain_text", "content": label},
            "type": "primary" if index == 0 else "default",
            "url": url,
        }
        for index, (label, url) in enumerate(links_to_add(message))
    ]
    if buttons:
        elements.append({"tag": "action", "actions": buttons})
    return {
        "config": {"wide_screen_mode": True},
        "header": {
            "title": {"tag": "plain_text", "content": message.title},
            "template": _COLOURS.get(message.kind, "blue"),
        },
        "elements": elements,
    }


def signature(secret: str, timestamp: str) -> str:
    """Feishu's `sign`: base64 of HMAC-SHA256 keyed with "<timestamp>\\n<secret>" over an
    empty message (the key is the string to sign: Feishu's documented algorithm)."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def check(status: int, body: bytes) -> None:
    """Raise `ChannelRefused` unless Feishu answered `"code": 0` (older: `"StatusCode": 0`)."""
    refuse_http_error(status, body)
    answer = json_answer(body)
    if "code" in answer:
        code, text = answer["code"], answer.get("msg", "")
    elif "StatusCode" in answer:
        code, text = answer["StatusCode"], answer.get("StatusMessage", "")
    else:
        raise ChannelRefused(f"unexpected answer: {reason(body.decode('utf-8', 'replace'))}")
    if code != 0:
        raise ChannelRefused(f"code {code}: {reason(str(text))}")
