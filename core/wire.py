"""How values travel in JSON: RFC 3339 timestamps in UTC and opaque list cursors."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from core.bounds import MAX_ROW_ID

__all__ = [
    "InvalidCursor",
    "decode_cursor",
    "encode_cursor",
    "json_values",
    "jsonable",
    "rfc3339",
]


class InvalidCursor(ValueError):
    """A cursor this service did not hand out."""


def rfc3339(moment: datetime | None) -> str | None:
    """UTC timestamp in RFC 3339 with a `Z`."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def encode_cursor(after_id: int, kind: str = "a") -> str:
    """An opaque cursor: continue after row `after_id` of a list of `kind`."""
    return base64.urlsafe_b64encode(f"{kind}:{after_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str = "a") -> int:
    """The row id `cursor` continues after; InvalidCursor if it is not one of ours."""
    try:
        decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, ValueError):  # ValueError: not ASCII, or not UTF-8
        raise InvalidCursor(f"invalid cursor {cursor!r}") from None
    found, _, value = decoded.partition(":")
    if found != kind or not (value.isascii() and value.isdigit()) or len(value) > 19:
        raise InvalidCursor(f"invalid cursor {cursor!r}")
    after_id = int(value)
    if after_id > MAX_ROW_ID:
        raise InvalidCursor(f"invalid cursor {cursor!r}")
    return after_id


def json_values(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """`values` with every datetime as RFC 3339 text."""
    if values is None:
        return None
    return {key: jsonable(value) for key, value in values.items()}


def jsonable(value: Any) -> Any:
    """A datetime as RFC 3339 text; anything else as it is."""
    return rfc3339(value) if isinstance(value, datetime) else value
