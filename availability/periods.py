"""Measurement periods: a calendar month in a time zone, an arbitrary range, month to date.

Contract:

- A `Period` is [start, end) between two aware datetimes, kept in UTC.
- A calendar month runs from local midnight of its 1st to local midnight of the next 1st
  in the service's time zone, so a month with a DST change is an hour shorter or longer.
  Local midnights become instants with zoneinfo's fold=0 (a midnight skipped by a DST gap
  maps to the first instant of that day).
- A period that includes `now` ends at `now`; one that would begin after `now` raises
  `PeriodInFuture`. `now` is always passed in and must be aware.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "InvalidPeriod",
    "Period",
    "PeriodInFuture",
    "day_edges",
    "day_edges_micros",
    "from_micros",
    "month_period",
    "month_to_date",
    "parse_month",
    "range_period",
    "requested_period",
    "to_micros",
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)
_ONE_DAY = timedelta(days=1)
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


class PeriodInFuture(ValueError):
    """The period asked for begins after now: there is nothing to measure yet."""


class InvalidPeriod(ValueError):
    """A month or range that names no period: malformed, or its end not after its start."""


def _aware_utc(value: datetime, what: str) -> datetime:
    """Return `value` in UTC, refusing naive datetimes."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def to_micros(instant: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime."""
    return (_aware_utc(instant, "instant") - EPOCH) // _ONE_MICROSECOND


def from_micros(micros: int) -> datetime:
    """The UTC instant `micros` microseconds after the Unix epoch."""
    return EPOCH + micros * _ONE_MICROSECOND


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC; aware datetimes of any zone are converted, naive ones refused."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _aware_utc(self.start, "period start"))
        object.__setattr__(self, "end", _aware_utc(self.end, "period end"))
        if self.end < self.start:
            raise ValueError(
                f"period end {self.end.isoformat()} is before its start {self.start.isoformat()}"
            )

    @property
    def seconds(self) -> float:
        """The period's length in seconds."""
        return (self.end - self.start).total_seconds()

    def to_micros(self) -> tuple[int, int]:
        """(start, end) in microseconds since the Unix epoch."""
        return to_micros(self.start), to_micros(self.end)


def parse_month(text: str) -> tuple[int, int]:
    """`"2026-11"` → `(2026, 11)`; anything not of the form YYYY-MM raises InvalidPeriod."""
    match = _MONTH.fullmatch(text)
    if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1:
        raise InvalidPeriod(f"month must have the form YYYY-MM (e.g. 2026-11), got {text!r}")
    return int(match[1]), int(match[2])


def _local_midnight(year: int, month: int, day: int, tz: ZoneInfo) -> datetime:
    return datetime(year, month, day, tzinfo=tz).astimezone(UTC)


def month_period(year: int, month: int, tz: ZoneInfo, *, now: datetime) -> Period:
    """The calendar month in `tz`, ending at `now` if it includes now.

    Raises PeriodInFuture if the month begins after `now`, ValueError for a month outside
    1..12.
    """
    if not 1 <= month <= 12:
        raise ValueError(f"month must lie in 1..12, got {month}")
    now = _aware_utc(now, "now")
    start = _local_midnight(year, month, 1, tz)
    if start > now:
        raise PeriodInFuture(
            f"{year:04d}-{month:02d} in {tz.key} begins at {start.isoformat()}, "
            f"after now ({now.isoformat()})"
        )
    following = (year + 1, 1) if month == 12 else (year, month + 1)
    end = _local_midnight(*following, 1, tz)
    return Period(start, min(end, now))


def range_period(start: datetime, end: datetime, *, now: datetime) -> Period:
    """[start, end), with end clipped to `now`.

    Raises ValueError if end <= start, PeriodInFuture if start is after `now`.
    """
    start = _aware_utc(start, "start")
    end = _aware_utc(end, "end")
    now = _aware_utc(now, "now")
    if end <= start:
        raise ValueError(f"end {end.isoformat()} must be after start {start.isoformat()}")
    if start > now:
        raise PeriodInFuture(f"start {start.isoformat()} is after now ({now.isoformat()})")
    return Period(start, min(end, now))


def requested_period(
    month: str | None,
    start: datetime | None,
    end: datetime | None,
    tz: ZoneInfo,
    *,
    now: datetime,
) -> Period:
    """The period a query names: a month in `tz`, a start/end range, or else month to date.

    Raises InvalidPeriod for a query that names none (both forms, half a range, a bad
    month), PeriodInFuture for one that begins after `now`.
    """
    try:
        if month is not None:
            if start is not None or end is not None:
                raise InvalidPeriod("give either month, or from and to, not both")
            return month_period(*parse_month(month), tz, now=now)
        if start is not None or end is not None:
            if start is None or end is None:
                raise InvalidPeriod("give both from and to")
            return range_period(start, end, now=now)
        return month_to_date(tz, now=now)
    except (InvalidPeriod, PeriodInFuture):
        raise
    except ValueError as error:  # a month or range outside what datetime can hold
        raise InvalidPeriod(str(error)) from None


def month_to_date(tz: ZoneInfo, *, now: datetime) -> Period:
    """From local midnight of this month's 1st in `tz` to `now`."""
    local = _aware_utc(now, "now").astimezone(tz)
    return month_period(local.year, local.month, tz, now=now)


def day_edges(period: Period, tz: ZoneInfo) -> list[datetime]:
    """The period's start, every local midnight in `tz` strictly inside it, and its end.

    Consecutive edges bound one (local) day of a per-day chart; the first and last days
    may be partial. An empty period has the single edge `[start]`: no days.
    """
    edges = [period.start]
    day = period.start.astimezone(tz).date()
    while True:
        day += _ONE_DAY
        midnight = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
        if midnight >= period.end:
            break
        if midnight > edges[-1]:
            edges.append(midnight)
    if period.end > period.start:
        edges.append(period.end)
    return edges


def day_edges_micros(period: Period, tz: ZoneInfo) -> NDArray[np.int64]:
    """`day_edges` as int64 microseconds since the Unix epoch, for `total_per_bucket`."""
    return np.array([to_micros(edge) for edge in day_edges(period, tz)], dtype=np.int64)
