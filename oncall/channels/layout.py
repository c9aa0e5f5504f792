"""What the robots add to a template's text: the links it does not carry, and cutting it to
what a service takes (pure)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from oncall.channels.base import Message

__all__ = ["CUT_MARK", "body_size", "cut_to_bytes", "fit_body", "links_to_add"]

CUT_MARK = "…"


def links_to_add(message: Message) -> list[tuple[str, str]]:
    """(label, url) of the message's links that its text does not already carry."""
    links = [(message.link_label, message.link), (message.ack_label, message.ack_link)]
    return [(label, url) for label, url in links if url and url not in message.text]


def cut_to_bytes(text: str, limit: int) -> str:
    """`text` if its UTF-8 fits in `limit` bytes, else its start and `CUT_MARK` in `limit`."""
    encoded = text.encode()
    if len(encoded) <= limit:
        return text
    room = limit - len(CUT_MARK.encode())
    if room < 0:
        raise ValueError(f"a limit of {limit} bytes leaves no room for any text")
    # Cutting inside a character leaves a partial sequence, which "ignore" drops.
    return encoded[:room].decode("utf-8", "ignore") + CUT_MARK


def body_size(body: Any) -> int:
    """The bytes of `body` as httpx sends `json=`: compact, UTF-8, not ASCII-escaped."""
    return len(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())


def fit_body(
    build: Callable[[str], dict[str, Any]], text: str, *, max_bytes: int
) -> dict[str, Any]:
    """The body `build` makes of `text`, `text` cut until the body fits in `max_bytes`."""
    body = build(text)
    for _ in range(4):
        excess = body_size(body) - max_bytes
        if excess <= 0:
            return body
        # JSON spells a character in at least its UTF-8 bytes, so one cut nearly always fits.
        mark = len(CUT_MARK.encode())
        text = cut_to_bytes(text, max(mark, len(text.encode()) - excess - mark))
        body = build(text)
    if body_size(body) > max_bytes:
        raise ValueError(f"the message does not fit in {max_bytes} bytes even without its text")
    return body
