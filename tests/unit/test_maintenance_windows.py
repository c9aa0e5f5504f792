"""Maintenance windows: which occurrences fall in a period, in the service's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from availability.maintenance import (
    MaintenanceDefinition,
    Origin,
    TooManyOccurrences,
    from_rule_file,
    occurrences,
)
from rules.loader import load_rule_file
from tests.conftest import FIXTURES

BERLIN = ZoneInfo("Europe/Berlin")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def weekly(cron: str = "0 3 * * sun", hours: float = 1) -> MaintenanceDefinition:
    return MaintenanceDefinition(
        service="checkout", origin=Origin.API, cron=cron, duration=timedelta(hours=hours)
    )


def test_a_weekly_window_keeps_its_local_time_across_the_clock_change() -> None:
    found = occurrences(
        weekly(), timezone=BERLIN, start=utc("2026-10-18T00:00Z"), end=utc("2026-11-02T00:00Z")
    )
    # 03:00 in Berlin is 01:00 UTC in summer time and 02:00 UTC after 25 October.
    assert found == [
        (utc("2026-10-18T01:00Z"), utc("2026-10-18T02:00Z")),
        (utc("2026-10-25T02:00Z"), utc("2026-10-25T03:00Z")),
        (utc("2026-11-01T02:00Z"), utc("2026-11-01T03:00Z")),
    ]


def test_a_start_time_that_happens_twice_when_the_clocks_go_back_is_taken_once() -> None:
    found = occurrences(
        weekly("30 2 25 10 *"),
        timezone=BERLIN,
        start=utc("2026-10-24T00:00Z"),
        end=utc("2026-10-26T00:00Z"),
    )
    assert found == [(utc("2026-10-25T00:30Z"), utc("2026-10-25T01:30Z"))]


def test_a_window_over_the_night_the_clocks_go_forward_lasts_its_duration() -> None:
    # 01:30 CET + 2 h of real time is 04:30 CEST: the wall clock jumps an hour.
    [(start, end)] = occurrences(
        weekly("30 1 29 3 *", hours=2),
        timezone=BERLIN,
        start=utc("2026-03-28T00:00Z"),
        end=utc("2026-03-30T00:00Z"),
    )
    assert end - start == timedelta(hours=2)
    assert end.astimezone(BERLIN).hour == 4


def test_a_window_that_began_before_the_period_and_runs_into_it_is_found() -> None:
    found = occurrences(
        weekly(hours=3),
        timezone=BERLIN,
        start=utc("2026-11-01T03:00Z"),
        end=utc("2026-11-02T00:00Z"),
    )
    assert found == [(utc("2026-11-01T02:00Z"), utc("2026-11-01T05:00Z"))]


def test_a_one_off_window_is_found_only_when_it_overlaps_the_period() -> None:
    window = MaintenanceDefinition(
        service="payments",
        origin=Origin.API,
        start=utc("2026-11-10T11:00Z"),
        end=utc("2026-11-10T13:00Z"),
    )
    inside = occurrences(
        window, timezone=BERLIN, start=utc("2026-11-10T12:00Z"), end=utc("2026-11-11T00:00Z")
    )
    assert inside == [(window.start, window.end)]
    before = occurrences(
        window, timezone=BERLIN, start=utc("2026-11-10T13:00Z"), end=utc("2026-11-11T00:00Z")
    )
    assert before == []


def test_a_window_repeating_every_minute_for_years_is_refused() -> None:
    with pytest.raises(TooManyOccurrences, match="repeats more than 100,000 times"):
        occurrences(
            weekly("* * * * *", hours=0.01),
            timezone=BERLIN,
            start=utc("2026-01-01T00:00Z"),
            end=utc("2027-01-01T00:00Z"),
        )


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"start": utc("2026-11-10T11:00Z")},
        {"start": utc("2026-11-10T11:00Z"), "end": utc("2026-11-10T10:00Z")},
        {"cron": "0 3 * * sun", "duration": timedelta(0)},
    ],
)
def test_a_definition_is_one_off_or_recurring_and_never_empty(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="maintenance window"):
        MaintenanceDefinition(service="payments", origin=Origin.API, **fields)  # type: ignore[arg-type]


def test_the_rule_files_windows_become_definitions() -> None:
    rules = load_rule_file(FIXTURES / "example_rules.yaml")
    one_off, recurring = from_rule_file(rules.maintenance)
    assert (one_off.service, one_off.origin, one_off.start) == (
        "payments",
        Origin.RULES,
        utc("2026-11-01T02:00:00+08:00"),
    )
    assert (recurring.cron, recurring.duration) == ("0 3 * * sun", timedelta(hours=1))
