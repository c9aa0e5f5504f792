"""Measurement periods: calendar months in a time zone, ranges, month to date, day edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from availability.periods import (
    Period,
    PeriodInFuture,
    day_edges,
    day_edges_micros,
    month_period,
    month_to_date,
    parse_month,
    range_period,
    to_micros,
)

BERLIN = ZoneInfo("Europe/Berlin")
SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
LATER = datetime(2027, 6, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


@pytest.mark.parametrize(
    ("tz", "month", "hours"),
    [
        (BERLIN, 3, 743),  # clocks go forward on 29 March
        (BERLIN, 10, 745),  # and back on 25 October
        (BERLIN, 11, 720),
        (SHANGHAI, 3, 744),  # no DST in China
        (SHANGHAI, 10, 744),
        (SHANGHAI, 2, 672),
        (NEW_YORK, 3, 743),
    ],
)
def test_a_calendar_month_lasts_as_long_as_its_local_days(
    tz: ZoneInfo, month: int, hours: int
) -> None:
    period = month_period(2026, month, tz, now=LATER)
    assert period.end - period.start == timedelta(hours=hours)
    assert period.seconds == hours * 3600


def test_a_month_runs_from_local_midnight_to_local_midnight_in_utc() -> None:
    period = month_period(2026, 3, BERLIN, now=LATER)
    assert period.start == utc(2026, 2, 28, 23)  # CET, UTC+1
    assert period.end == utc(2026, 3, 31, 22)  # CEST, UTC+2
    assert period.start.tzinfo is UTC
    december = month_period(2026, 12, SHANGHAI, now=LATER)
    assert (december.start, december.end) == (utc(2026, 11, 30, 16), utc(2026, 12, 31, 16))


def test_a_month_that_includes_now_ends_at_now() -> None:
    now = utc(2026, 11, 17, 9, 30)
    period = month_period(2026, 11, SHANGHAI, now=now)
    assert (period.start, period.end) == (utc(2026, 10, 31, 16), now)


def test_a_month_that_has_begun_only_in_the_service_zone_ends_at_now() -> None:
    now = utc(2026, 10, 31, 17)  # already 1 November in Shanghai, still October in UTC
    assert month_period(2026, 11, SHANGHAI, now=now) == Period(utc(2026, 10, 31, 16), now)


def test_a_month_that_begins_after_now_is_in_the_future() -> None:
    with pytest.raises(PeriodInFuture, match="2026-12 in Asia/Shanghai begins at .* after now"):
        month_period(2026, 12, SHANGHAI, now=utc(2026, 11, 30, 15, 59))
    assert issubclass(PeriodInFuture, ValueError)


def test_a_month_outside_one_to_twelve_is_refused() -> None:
    with pytest.raises(ValueError, match=r"1\.\.12, got 13"):
        month_period(2026, 13, BERLIN, now=LATER)


def test_month_to_date_takes_the_month_of_now_in_the_service_zone() -> None:
    now = utc(2026, 10, 31, 20)
    assert month_to_date(SHANGHAI, now=now) == Period(utc(2026, 10, 31, 16), now)
    assert month_to_date(BERLIN, now=now) == Period(utc(2026, 9, 30, 22), now)


def test_parse_month_reads_year_and_month() -> None:
    assert parse_month("2026-11") == (2026, 11)
    assert parse_month("1999-01") == (1999, 1)


@pytest.mark.parametrize(
    "text",
    ["2026-13", "2026-00", "2026-1", "nov", "", "2026-11-01", "2026/11", " 2026-11", "0000-05"],
)
def test_parse_month_names_the_expected_form_for_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        parse_month(text)


def test_a_range_ends_at_now_when_it_reaches_past_now() -> None:
    now = utc(2026, 11, 17, 12)
    period = range_period(utc(2026, 11, 1), utc(2026, 12, 1), now=now)
    assert period == Period(utc(2026, 11, 1), now)
    assert range_period(utc(2026, 11, 1), utc(2026, 11, 2), now=now).end == utc(2026, 11, 2)


def test_a_range_must_end_after_it_starts() -> None:
    with pytest.raises(ValueError, match="must be after start"):
        range_period(utc(2026, 11, 2), utc(2026, 11, 2), now=LATER)


def test_a_range_starting_after_now_is_in_the_future() -> None:
    with pytest.raises(PeriodInFuture, match="is after now"):
        range_period(utc(2026, 11, 2), utc(2026, 11, 3), now=utc(2026, 11, 1))


def test_a_period_refuses_naive_datetimes_and_ends_before_starts() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Period(datetime(2026, 1, 1), utc(2026, 1, 2))
    with pytest.raises(ValueError, match="before its start"):
        Period(utc(2026, 1, 2), utc(2026, 1, 1))


def test_a_period_keeps_its_instants_in_utc() -> None:
    period = Period(datetime(2026, 1, 1, 8, tzinfo=SHANGHAI), utc(2026, 1, 1, 1))
    assert period.start == utc(2026, 1, 1, 0) and period.start.tzinfo is UTC
    assert period.to_micros() == (to_micros(utc(2026, 1, 1)), to_micros(utc(2026, 1, 1, 1)))


def test_to_micros_is_exact() -> None:
    assert to_micros(utc(1970, 1, 1, 0, 0, 0, 1)) == 1
    assert to_micros(utc(1969, 12, 31, 23, 59, 59, 999_999)) == -1
    assert to_micros(utc(2026, 11, 1)) == 1_793_491_200_000_000


def test_day_edges_of_a_dst_month_have_one_short_day() -> None:
    period = month_period(2026, 3, BERLIN, now=LATER)
    edges = day_edges(period, BERLIN)
    assert len(edges) == 32 and edges[0] == period.start and edges[-1] == period.end
    lengths = [later - earlier for earlier, later in pairwise(edges)]
    assert lengths.count(timedelta(hours=23)) == 1
    assert lengths[28] == timedelta(hours=23)  # 29 March
    assert all(edge.astimezone(BERLIN).hour == 0 for edge in edges)


def test_day_edges_of_a_partial_period_start_and_end_mid_day() -> None:
    period = range_period(utc(2026, 11, 3, 10), utc(2026, 11, 5, 2), now=LATER)
    assert day_edges(period, SHANGHAI) == [
        utc(2026, 11, 3, 10),
        utc(2026, 11, 3, 16),
        utc(2026, 11, 4, 16),
        utc(2026, 11, 5, 2),
    ]
    assert day_edges_micros(period, SHANGHAI).tolist() == [
        to_micros(edge) for edge in day_edges(period, SHANGHAI)
    ]


def test_a_day_that_a_zone_skips_gets_no_edge_of_its_own() -> None:
    apia = ZoneInfo("Pacific/Apia")  # Samoa went from 29 to 31 December 2011
    period = Period(datetime(2011, 12, 29, tzinfo=apia), datetime(2012, 1, 1, tzinfo=apia))
    edges = day_edges(period, apia)
    assert [edge.astimezone(apia).day for edge in edges] == [29, 31, 1]
    assert edges[1] - edges[0] == timedelta(hours=24)


def test_an_empty_period_has_no_days() -> None:
    now = utc(2026, 11, 1)
    assert day_edges(Period(now, now), BERLIN) == [now]


ZONES = [BERLIN, SHANGHAI, NEW_YORK, ZoneInfo("Australia/Lord_Howe"), ZoneInfo("Pacific/Apia")]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(ZONES),
    st.datetimes(datetime(2010, 1, 1), datetime(2030, 1, 1), timezones=st.just(UTC)),
    st.integers(0, 40 * 24 * 3600),
)
def test_day_edges_are_increasing_local_midnights_between_the_period_ends(
    tz: ZoneInfo, start: datetime, seconds: int
) -> None:
    period = Period(start, start + timedelta(seconds=seconds))
    edges = day_edges(period, tz)
    assert edges[0] == period.start and edges[-1] == period.end
    assert all(earlier < later for earlier, later in pairwise(edges))
    inner = edges[1:-1]
    assert all(e.astimezone(tz).time() <= datetime.min.time().replace(hour=1) for e in inner)
    dates = {e.astimezone(tz).date() for e in inner}
    assert len(dates) == len(inner)  # one edge per local day
    assert all(later - earlier <= timedelta(hours=26) for earlier, later in pairwise(edges))
