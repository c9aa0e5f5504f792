"""SLA clocks on calendars: when a deadline falls, and how much business time has elapsed.

Contract:

- Every datetime argument must be timezone-aware (naive ones raise ValueError); every
  datetime returned is aware and in UTC.
- A business day is a local date (in the calendar's timezone) whose weekday is one of
  `weekdays` and that is neither in `holidays` nor in `country_holidays`. On a business day
  the calendar is open over one window, [opens, closes) local time; `closes=None` means the
  next local midnight ("24:00").
- Local times become instants with zoneinfo's fold=0. A window never has negative length (a
  DST gap can make it empty) and never leaves its local day, so windows never overlap.
- Business time is real elapsed time inside open windows: a 00:00-24:00 day lasts 23 h or
  25 h when the clocks change. `day_length` is the nominal length, for "N business days".
- `elapsed(start, end)` is the open time inside [start, end), zero when end <= start.
- `deadline(start, duration)` is the earliest t >= start with elapsed(start, t) == duration:
  a start outside hours counts from the next opening, and a clock that runs out exactly at a
  closing instant is due then, not at the next opening.
- `is_open(at)` says whether `at` lies inside an open window.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from holidays import HolidayBase

__all__ = ["AlwaysOpen", "BusinessCalendar", "Calendar", "parse_hours"]

_ZERO = timedelta(0)
_ONE_DAY = timedelta(days=1)
_MIDNIGHT = time(0)
# A calendar whose next opening is further away than this is a configuration error.
_MAX_CLOSED_DAYS = 3660
_HOURS = re.compile(r"^\s*(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})\s*$", re.ASCII)


class Calendar(Protocol):
    """Anything that can run an SLA clock."""

    # A read-only property, so that frozen dataclasses satisfy the protocol.
    @property
    def name(self) -> str: ...

    def deadline(self, start: datetime, duration: timedelta) -> datetime: ...

    def elapsed(self, start: datetime, end: datetime) -> timedelta: ...

    def is_open(self, at: datetime) -> bool: ...

    def open_spans(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]: ...


def _aware_utc(value: datetime, what: str) -> datetime:
    """Return `value` in UTC, refusing naive datetimes."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def _check_duration(duration: timedelta) -> None:
    """Refuse negative durations."""
    if duration < _ZERO:
        raise ValueError(f"duration must not be negative, got {duration}")


@dataclass(frozen=True, slots=True)
class AlwaysOpen:
    """The built-in 24x7 calendar: business time is all real elapsed time."""

    name: str = "24x7"

    def deadline(self, start: datetime, duration: timedelta) -> datetime:
        """Return start + duration."""
        _check_duration(duration)
        return _aware_utc(start, "start") + duration

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Return end - start, or zero when end is not after start."""
        return max(_aware_utc(end, "end") - _aware_utc(start, "start"), _ZERO)

    def is_open(self, at: datetime) -> bool:
        """Return True: this calendar never closes."""
        _aware_utc(at, "at")
        return True

    def open_spans(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """[start, end) whole, when not empty."""
        start, end = _aware_utc(start, "start"), _aware_utc(end, "end")
        return [(start, end)] if end > start else []


@dataclass(frozen=True)
class BusinessCalendar:
    """Open on business days from `opens` to `closes`, local time in `timezone`."""

    name: str
    timezone: ZoneInfo
    weekdays: frozenset[int]
    opens: time
    closes: time | None
    holidays: frozenset[date] = frozenset()
    # A HolidayBase is a dict, so it cannot be hashed; it still takes part in equality.
    country_holidays: HolidayBase | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.timezone, ZoneInfo):
            raise ValueError(f"timezone must be a zoneinfo.ZoneInfo, got {self.timezone!r}")
        if not self.weekdays:
            raise ValueError("weekdays must not be empty")
        bad = sorted(repr(w) for w in self.weekdays if not isinstance(w, int) or not 0 <= w <= 6)
        if bad:
            raise ValueError(f"weekdays must be 0 (Monday) to 6 (Sunday), got {', '.join(bad)}")
        for label, value in (("opens", self.opens), ("closes", self.closes)):
            # combine(..., tzinfo=timezone) would silently drop a time's own zone.
            if value is not None and value.tzinfo is not None:
                raise ValueError(f"{label} must be a naive local time, got {value.isoformat()}")
        # A datetime never equals a date, so it would silently fail to close its day.
        if any(isinstance(d, datetime) or not isinstance(d, date) for d in self.holidays):
            raise ValueError("holidays must be datetime.date values, not datetimes or others")
        if self.closes is not None and self.closes <= self.opens:
            raise ValueError(
                f"closes ({self.closes.isoformat()}) must be after opens ({self.opens.isoformat()})"
            )
        object.__setattr__(self, "weekdays", frozenset(self.weekdays))
        object.__setattr__(self, "holidays", frozenset(self.holidays))

    @property
    def day_length(self) -> timedelta:
        """Nominal open time of one business day, to turn business days into business time."""
        closes = _ONE_DAY if self.closes is None else _since_midnight(self.closes)
        return closes - _since_midnight(self.opens)

    def _is_business_day(self, day: date) -> bool:
        """Whether the local date `day` has an open window at all."""
        if day.weekday() not in self.weekdays or day in self.holidays:
            return False
        return self.country_holidays is None or day not in self.country_holidays

    def deadline(self, start: datetime, duration: timedelta) -> datetime:
        """Return the earliest instant by which `duration` of business time has elapsed."""
        start = _aware_utc(start, "start")
        _check_duration(duration)
        if duration == _ZERO:
            return start
        remaining = duration
        day = self._day_of(start)
        closed_days = 0
        while True:
            lo, hi = self._window(day) if self._is_business_day(day) else (start, start)
            lo = max(lo, start)
            if hi > lo:
                if hi - lo >= remaining:
                    return lo + remaining
                remaining -= hi - lo
                closed_days = 0
            else:
                closed_days += 1
                if closed_days > _MAX_CLOSED_DAYS:
                    raise ValueError(
                        f"calendar {self.name!r} has no open time within"
                        f" {_MAX_CLOSED_DAYS} days of {day.isoformat()}"
                    )
            day += _ONE_DAY

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Return the business time inside [start, end)."""
        start, end = _aware_utc(start, "start"), _aware_utc(end, "end")
        if end <= start:
            return _ZERO
        total = _ZERO
        day, last = self._day_of(start), self._day_of(end)
        while day <= last:
            if self._is_business_day(day):
                lo, hi = self._window(day)
                lo, hi = max(lo, start), min(hi, end)
                if hi > lo:
                    total += hi - lo
            day += _ONE_DAY
        return total

    def open_spans(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The open parts of [start, end), in order, adjacent days' windows joined."""
        start, end = _aware_utc(start, "start"), _aware_utc(end, "end")
        spans: list[tuple[datetime, datetime]] = []
        day, last = self._day_of(start), self._day_of(end) if end > start else None
        while last is not None and day <= last:
            if self._is_business_day(day):
                lo, hi = self._window(day)
                lo, hi = max(lo, start), min(hi, end)
                if hi > lo:
                    if spans and spans[-1][1] == lo:
                        lo = spans.pop()[0]
                    spans.append((lo, hi))
            day += _ONE_DAY
        return spans

    def is_open(self, at: datetime) -> bool:
        """Whether `at` lies inside an open window [open, close)."""
        at = _aware_utc(at, "at")
        day = self._day_of(at)
        if not self._is_business_day(day):
            return False
        lo, hi = self._window(day)
        return lo <= at < hi

    def _local(self, day: date, at: time) -> datetime:
        """The instant, in UTC, of local time `at` on `day` (fold=0 when ambiguous or skipped)."""
        return datetime.combine(day, at, tzinfo=self.timezone).astimezone(UTC)

    def _day_of(self, at: datetime) -> date:
        """The local date whose [midnight, next midnight) span holds the UTC instant `at`."""
        day = at.astimezone(self.timezone).date()
        # Only differs from the wall-clock date when a DST gap swallows midnight.
        if at < self._local(day, _MIDNIGHT):
            return day - _ONE_DAY
        if at >= self._local(day + _ONE_DAY, _MIDNIGHT):
            return day + _ONE_DAY
        return day

    def _window(self, day: date) -> tuple[datetime, datetime]:
        """The open window of business day `day` in UTC, clamped into its local day."""
        day_start = self._local(day, _MIDNIGHT)
        day_end = self._local(day + _ONE_DAY, _MIDNIGHT)
        lo = max(self._local(day, self.opens), day_start)
        hi = day_end if self.closes is None else min(self._local(day, self.closes), day_end)
        return lo, max(lo, hi)


def _since_midnight(at: time) -> timedelta:
    """The offset of a wall-clock time from midnight."""
    return timedelta(
        hours=at.hour, minutes=at.minute, seconds=at.second, microseconds=at.microsecond
    )


def parse_hours(text: str) -> tuple[time, time | None]:
    """Parse 'HH:MM-HH:MM' into (opens, closes); a closing '24:00' becomes None."""
    match = _HOURS.match(text)
    if match is None:
        raise ValueError(f"expected HH:MM-HH:MM, got {text!r}")
    oh, om, ch, cm = (int(part) for part in match.groups())
    if oh == 24 and om == 0:
        raise ValueError(f"24:00 is only allowed as the closing time, got {text!r}")
    for hour, minute in ((oh, om), (ch, cm)):
        if minute > 59:
            raise ValueError(f"minutes must be 00-59, got {hour:02d}:{minute:02d} in {text!r}")
        if hour > 23 and (hour, minute) != (24, 0):
            raise ValueError(
                f"hours must be 00-23 (or 24:00), got {hour:02d}:{minute:02d} in {text!r}"
            )
    opens = time(oh, om)
    closes = None if ch == 24 else time(ch, cm)
    if closes is not None and closes <= opens:
        raise ValueError(f"closing time must be after opening time, got {text!r}")
    return opens, closes
