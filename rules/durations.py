"""Durations in Prometheus' notation (`90s`, `1h30m`, `2d`, `1w`), plus `bd`: business days."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

__all__ = ["Duration", "parse_duration"]

_UNITS = (
    ("y", timedelta(days=365)),
    ("w", timedelta(weeks=1)),
    ("d", timedelta(days=1)),
    ("h", timedelta(hours=1)),
    ("m", timedelta(minutes=1)),
    ("s", timedelta(seconds=1)),
    ("ms", timedelta(milliseconds=1)),
)
# Prometheus' own grammar: units largest first, each at most once.
_PROMETHEUS = re.compile("".join(rf"(?:(?P<{unit}>\d+){unit})?" for unit, _ in _UNITS) + r"\Z")
_BUSINESS_DAYS = re.compile(r"(?P<days>\d+)bd\Z")


@dataclass(frozen=True, slots=True)
class Duration:
    """A length of time: wall-clock (`value`), or a number of business days."""

    text: str
    value: timedelta = timedelta(0)
    business_days: int | None = None

    @property
    def is_business(self) -> bool:
        return self.business_days is not None

    def __str__(self) -> str:
        return self.text


def parse_duration(text: str) -> Duration:
    """Parse `text`; raise ValueError naming what was expected."""
    stripped = text.strip()
    business = _BUSINESS_DAYS.match(stripped)
    if business is not None:
        return Duration(stripped, business_days=int(business.group("days")))
    found = _PROMETHEUS.match(stripped)
    if not stripped or found is None:
        raise ValueError(
            f"invalid duration {text!r}: expected a number and a unit, units from largest to "
            "smallest (y, w, d, h, m, s, ms; e.g. 90s, 1h30m, 2d), or business days (e.g. 5bd)"
        )
    total = timedelta(0)
    for unit, length in _UNITS:
        count = found.group(unit)
        if count is not None:
            total += int(count) * length
    return Duration(stripped, value=total)
