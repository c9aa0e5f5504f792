"""Reading what a chat service answered: refused, or taken (pure: the answer is given)."""

from __future__ import annotations

import json
import re
from typing import Any

from oncall.channels.base import ChannelRefused

__all__ = ["REASON_CHARS", "json_answer", "reason", "refuse_errcode", "refuse_http_error"]

REASON_CHARS = 200
# A webhook's URL carries its token (DingTalk, WeCom in the query; Feishu, Slack in the path).
_URL = re.compile(r"https?://[^\s\"'<>()\[\]]+")


def reason(text: str) -> str:
    """`text` cut to `REASON_CHARS`, with any URL in it blanked: a reason is logged and shown."""
    return _URL.sub("<url>", text.strip()[:REASON_CHARS])


def refuse_http_error(status: int, body: bytes) -> None:
    """Raise `ChannelRefused("HTTP <status>: <body>")` for a status of 300 or more."""
    if status >= 300:
        raise ChannelRefused(f"HTTP {status}: {reason(body.decode('utf-8', 'replace'))}")


def json_answer(body: bytes) -> dict[str, Any]:
    """The JSON object a robot answered; anything else is a refusal (a proxy's page, say)."""
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise ChannelRefused(f"unexpected answer: {reason(body.decode('utf-8', 'replace'))}")
    return answer


def refuse_errcode(answer: dict[str, Any]) -> None:
    """Raise `ChannelRefused` unless a DingTalk or WeCom answer says `"errcode": 0`."""
    code = answer.get("errcode")
    if not isinstance(code, int) or isinstance(code, bool):
        raise ChannelRefused(f"unexpected answer: {reason(json.dumps(answer, ensure_ascii=False))}")
    if code != 0:
        raise ChannelRefused(f"errcode {code}: {reason(str(answer.get('errmsg', '')))}")
