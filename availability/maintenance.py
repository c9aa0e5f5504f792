"""Maintenance windows: their definitions and the occurrences that fall in a period.

Pure: definitions come from the rule file's `maintenance` section or from the database,
and the caller passes the period. A recurring window (`cron` + `duration`) runs in its
service's time zone: `0 3 * * sun` is 03:00 local time every Sunday, summer and winter.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from croniter import croniter

from rules.schema import MaintenanceSpec

__all__ = [
    "MAX_OCCURRENCES",
    "MaintenanceDefinition",
    "Origin",
    "TooManyOccurrences",
    "from_rule_file",
    "occurrences",
]

# A window every minute for a month is 44,640 occurrences; more than this is a mistake.
MAX_OCCURRENCES = 100_000


class Origin(StrEnum):
    API = "api"  # entered through /api/v1/maintenance, kept in the database
    RULES = "rules"  # the rule file's `maintenance` section


class TooManyOccurrences(ValueError):
    """A recurring window repeats more often than any planned maintenance would."""


@dataclass(frozen=True, slots=True)
class MaintenanceDefinition:
    """One maintenance window as defined: one-off (`start`, `end`) or recurring (`cron`,
    `duration`)."""

    service: str
    origin: Origin
    reason: str = ""
    start: datetime | None = None
    end: datetime | None = None
    cron: str | None = None
    duration: timedelta | None = None
    id: int | None = None  # the database row, for windows entered through the API
    created_by: str | None = None  # who planned it through the API (None: the rule file)
    created_at: datetime | None = None

    def __post_init__(self) -> None:
        one_off = self.start is not None and self.end is not None
        recurring = self.cron is not None and self.duration is not None
        if one_off == recurring:
            raise ValueError("a maintenance window is either start and end, or cron and duration")
        if one_off and self.end is not None and self.start is not None and self.end <= self.start:
            raise ValueError("a maintenance window must end after it starts")
        if self.duration is not None and self.duration <= timedelta(0):
            raise ValueError("a recurring maintenance window needs a positive duration")


def from_rule_file(specs: tuple[MaintenanceSpec, ...]) -> list[MaintenanceDefinition]:
    """The rule file's windows as definitions."""
    return [
        MaintenanceDefinition(
            service=spec.service,
            origin=Origin.RULES,
            reason=spec.reason,
            start=spec.start,
            end=spec.end,
            cron=spec.cron,
            duration=spec.duration.value if spec.duration is not None else None,
        )
        for spec in specs
    ]


def occurrences(
    definition: MaintenanceDefinition, *, timezone: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The windows of `definition` that overlap [start, end), unclipped, in UTC order.

    A recurring window whose local start time happens twice (the night the clocks go back)
    is taken once, the first time; one whose start time does not exist that night (the
    clocks go forward) starts at the first valid time after it.
    """
    if definition.start is not None and definition.end is not None:
        if definition.start < end and definition.end > start:
            return [(definition.start, definition.end)]
        return []
    assert definition.cron is not None and definition.duration is not None
    return list(_recurring(definition.cron, definition.duration, timezone, start, end))


def _recurring(
    cron: str, duration: timedelta, timezone: ZoneInfo, start: datetime, end: datetime
) -> Iterator[tuple[datetime, datetime]]:
    # Start early enough to catch a window that began before the period and runs into it.
    schedule = croniter(cron, (start - duration).astimezone(timezone))
    previous_wall: datetime | None = None
    count = 0
    while True:
        begins: datetime = schedule.get_next(datetime)
        if begins >= end:
            return
        wall = begins.replace(tzinfo=None)
        if wall == previous_wall:
            continue  # the same local time again, an hour later: the clocks went back
        previous_wall = wall
        count += 1
        if count > MAX_OCCURRENCES:
            raise TooManyOccurrences(
                f"the window {cron!r} repeats more than {MAX_OCCURRENCES:,} times in the period"
            )
        # In UTC: adding an hour to a local time across a clock change is not an hour.
        utc_begins = begins.astimezone(UTC)
        finishes = utc_begins + duration
        if finishes > start:
            yield utc_begins, finishes
