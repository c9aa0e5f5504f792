"""A profile's phone number written as the Chinese chat robots take it for an @-mention."""

from __future__ import annotations

import re

__all__ = ["robot_mobile", "split_phone"]

# E.164 country codes form a prefix code: 1 and 7 are one digit, these are two, the rest three.
_TWO_DIGIT_CODES = frozenset(
    str(code)
    for code in (20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49)
    + (51, 52, 53, 54, 55, 56, 57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86)
    + (90, 91, 92, 93, 94, 95, 98)
)
_SEPARATORS = re.compile(r"[\s\-().]")
_DIGITS = re.compile(r"\d{4,17}\Z")
_CHINA = "86"


def split_phone(phone: str) -> tuple[str | None, str] | None:
    """(country code, number) of `phone`: the code is None for a number written without
    `+` or `00`; None for what is not a phone number."""
    written = _SEPARATORS.sub("", phone)
    if written.startswith("+"):
        international = written[1:]
    elif written.startswith("00"):
        international = written[2:]
    else:
        return (None, written) if _DIGITS.match(written) else None
    if not _DIGITS.match(international):
        return None
    if international[0] in "17":
        size = 1
    elif international[:2] in _TWO_DIGIT_CODES:
        size = 2
    else:
        size = 3
    return international[:size], international[size:]


def robot_mobile(phone: str | None) -> str | None:
    """The mobile as DingTalk's `atMobiles` (and WeCom's `mentioned_mobile_list`) take it:
    a mainland number as its digits, another as `+<code>-<number>`; None if not a phone."""
    if phone is None:
        return None
    parts = split_phone(phone)
    if parts is None:
        return None
    code, number = parts
    if code is None or code == _CHINA:
        return number
    return f"+{code}-{number}"
