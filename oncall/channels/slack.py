"""A Slack incoming webhook: a fallback `text` and `blocks` in mrkdwn (pure: builds the
request, reads the answer).

The title is a `header` block (plain text, at most 150 characters) and the fallback `text`,
which notifications show; the text goes in `section` blocks of at most 3,000 characters, split
at line ends (50 blocks at most); the links the text does not carry follow as `<url|label>` in
a `context` block. A recipient with `chat_ids["slack"]` is mentioned as `<@U…>` at the start of
the fallback and of the first section. mrkdwn is not Markdown: `*bold*`, `_italic_`,
`~strike~`, `<url|label>`, no headings or tables, and `&`, `<`, `>` written as `&amp;`,
`&lt;`, `&gt;` (done here for the title and labels; the template does it for the text).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from oncall.channels.answers import reason, refuse_http_error
from oncall.channels.base import ChannelRefused, HttpRequest, Message
from oncall.channels.layout import CUT_MARK, links_to_add
from rules.reaching import SlackChannel

__all__ = ["MAX_HEADER_CHARS", "MAX_SECTION_CHARS", "check", "escape", "request"]

MAX_HEADER_CHARS = 150
MAX_SECTION_CHARS = 3000
_MAX_BLOCKS = 50


def request(channel: SlackChannel, message: Message, *, now: datetime) -> HttpRequest:
    """The POST that shows `message` in the webhook's channel, mentioning its recipient."""
    recipient = message.recipient
    user = recipient.chat_ids.get("slack") if recipient is not None else None
    mention = f"<@{user}> " if user is not None else ""
    blocks: list[dict[str, Any]] = []
    if message.title.strip():
        title = message.title
        if len(title) > MAX_HEADER_CHARS:
            title = title[: MAX_HEADER_CHARS - len(CUT_MARK)] + CUT_MARK
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": title}})
    in_text = mention if user is not None and f"<@{user}>" not in message.text else ""
    for part in sections(in_text + message.text, most=_MAX_BLOCKS - 2):
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": part}})
    links = links_to_add(message)
    if links:
        line = " · ".join(f"<{_link_url(url)}|{escape(label)}>" for label, url in links)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": line}]})
    body = {"text": mention + escape(message.title), "blocks": blocks}
    return HttpRequest(url=channel.url, headers={"Content-Type": "application/json"}, json=body)


def sections(text: str, *, most: int) -> list[str]:
    """`text` in parts of at most `MAX_SECTION_CHARS`, split at line ends, at most `most`."""
    parts: list[str] = []
    rest = text.strip("\n")
    while rest:
        if len(rest) <= MAX_SECTION_CHARS:
            parts.append(rest)
            break
        cut = rest.rfind("\n", 0, MAX_SECTION_CHARS + 1)
        if cut <= 0:
            cut = MAX_SECTION_CHARS
        parts.append(rest[:cut])
        rest = rest[cut:].strip("\n")
    parts = [part for part in parts if part.strip()]
    if len(parts) > most:
        parts = parts[:most]
        parts[-1] = parts[-1][: MAX_SECTION_CHARS - len(CUT_MARK)] + CUT_MARK
    return parts


def escape(text: str) -> str:
    """`text` with the three characters mrkdwn reserves written as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link_url(url: str) -> str:
    # `|` and `>` would end the URL inside <url|label>; percent-encoding keeps the address.
    return escape(url.replace("|", "%7C").replace("<", "%3C").replace(">", "%3E"))


def check(status: int, body: bytes) -> None:
    """Raise `ChannelRefused` unless Slack answered `ok` (errors: 4xx with a word in the body)."""
    refuse_http_error(status, body)
    answer = body.decode("utf-8", "replace").strip()
    if answer != "ok":
        raise ChannelRefused(f"unexpected answer: {reason(answer)}")
