"""SLA clocks on business calendars: deadlines, elapsed business time, holidays and DST."""

from __future__ import annotations

import time as clock
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rules.calendars import AlwaysOpen, BusinessCalendar, Calendar, parse_hours

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = frozenset(range(5))
EVERY_DAY = frozenset(range(7))
NATIONAL_DAY = frozenset(date(2026, 10, day) for day in range(1, 8))


def office(
    tz: ZoneInfo = SHANGHAI, hours: str = "09:00-18:00", days: frozenset[int] = WEEKDAYS
) -> BusinessCalendar:
    opens, closes = parse_hours(hours)
    return BusinessCalendar("office", tz, days, opens, closes)


def local(
    tz: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=tz)


def test_both_calendars_satisfy_the_protocol() -> None:
    calendars: list[Calendar] = [AlwaysOpen(), office()]
    assert [c.name for c in calendars] == ["24x7", "office"]


def test_a_friday_evening_start_rolls_into_monday_morning() -> None:
    due = office().deadline(local(SHANGHAI, 2026, 5, 15, 17), timedelta(hours=2))
    assert due == local(SHANGHAI, 2026, 5, 18, 10)
    assert due.tzinfo is UTC


def test_a_saturday_start_counts_from_monday_opening() -> None:
    calendar = office()
    saturday = local(SHANGHAI, 2026, 5, 16, 11, 30)
    assert calendar.deadline(saturday, timedelta(minutes=1)) == local(SHANGHAI, 2026, 5, 18, 9, 1)
    assert calendar.elapsed(saturday, local(SHANGHAI, 2026, 5, 18, 9, 30)) == timedelta(minutes=30)


def test_a_deadline_skips_the_weekend_and_holidays() -> None:
    calendar = BusinessCalendar("cn", SHANGHAI, WEEKDAYS, time(9), time(18), holidays=NATIONAL_DAY)
    start = local(SHANGHAI, 2026, 9, 30, 17)
    assert calendar.deadline(start, timedelta(hours=2)) == local(SHANGHAI, 2026, 10, 8, 10)
    assert not calendar.is_open(local(SHANGHAI, 2026, 10, 5, 10))
    assert calendar.elapsed(start, local(SHANGHAI, 2026, 10, 9)) == timedelta(hours=10)


def test_country_holidays_close_national_day() -> None:
    cn = holidays.country_holidays("CN")
    assert date(2026, 10, 1) in cn
    calendar = BusinessCalendar("cn", SHANGHAI, WEEKDAYS, time(9), time(18), country_holidays=cn)
    assert not calendar.is_open(local(SHANGHAI, 2026, 10, 1, 10))
    due = calendar.deadline(local(SHANGHAI, 2026, 9, 30, 17), timedelta(hours=2))
    assert due.astimezone(SHANGHAI).date() > date(2026, 10, 1)
    assert due == local(SHANGHAI, 2026, 10, 8, 10)
    assert hash(calendar) == hash(calendar)
    assert calendar != BusinessCalendar("cn", SHANGHAI, WEEKDAYS, time(9), time(18))


def test_round_the_clock_hours_run_across_midnight() -> None:
    calendar = office(hours="00:00-24:00")
    monday_night = local(SHANGHAI, 2026, 5, 11, 23)
    assert calendar.deadline(monday_night, timedelta(hours=2)) == local(SHANGHAI, 2026, 5, 12, 1)
    assert calendar.is_open(local(SHANGHAI, 2026, 5, 12))
    friday_night = local(SHANGHAI, 2026, 5, 15, 23)
    assert calendar.deadline(friday_night, timedelta(hours=2)) == local(SHANGHAI, 2026, 5, 18, 1)
    assert not calendar.is_open(local(SHANGHAI, 2026, 5, 16))
    assert calendar.day_length == timedelta(hours=24)


@pytest.mark.parametrize(("day", "hours"), [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25)])
def test_a_round_the_clock_day_lasts_as_long_as_the_clocks_say(day: date, hours: int) -> None:
    calendar = office(BERLIN, "00:00-24:00", EVERY_DAY)
    midnight = datetime.combine(day, time(0), tzinfo=BERLIN)
    next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=BERLIN)
    assert calendar.elapsed(midnight, next_midnight) == timedelta(hours=hours)
    assert calendar.deadline(midnight, timedelta(hours=hours)) == next_midnight
    sundays = office(BERLIN, "00:00-24:00", frozenset({6}))
    week_before = midnight - timedelta(days=6)
    assert sundays.elapsed(week_before, next_midnight) == timedelta(hours=hours)


def test_spring_forward_leaves_a_sunday_only_calendar_an_hour_short() -> None:
    sundays = office(BERLIN, "00:00-24:00", frozenset({6}))
    due = sundays.deadline(local(BERLIN, 2026, 3, 28, 12), timedelta(hours=24))
    assert due == local(BERLIN, 2026, 4, 5, 1)


def test_office_hours_follow_local_time_across_a_clock_change() -> None:
    due = office(BERLIN).deadline(local(BERLIN, 2026, 3, 27, 17), timedelta(hours=2))
    assert due == local(BERLIN, 2026, 3, 30, 10)


def test_opening_times_the_clocks_skip_or_repeat_resolve_with_fold_zero() -> None:
    sundays = office(BERLIN, "02:30-12:00", frozenset({6}))
    # Spring forward skips 02:30, which fold=0 reads with the winter offset: 03:30 CEST.
    assert not sundays.is_open(datetime(2026, 3, 29, 1, 29, tzinfo=UTC))
    assert sundays.is_open(datetime(2026, 3, 29, 1, 30, tzinfo=UTC))
    # Fall back repeats 02:30; fold=0 opens at the first one, still on summer time.
    assert not sundays.is_open(datetime(2026, 10, 25, 0, 29, tzinfo=UTC))
    assert sundays.is_open(datetime(2026, 10, 25, 0, 30, tzinfo=UTC))


def test_a_window_the_clocks_skip_entirely_is_empty_not_negative() -> None:
    skipped = office(BERLIN, "02:00-03:00", EVERY_DAY)
    spring_forward = datetime(2026, 3, 29, tzinfo=BERLIN)
    assert skipped.elapsed(spring_forward, spring_forward + timedelta(days=1)) == timedelta(0)
    assert skipped.deadline(spring_forward, timedelta(minutes=1)) == local(
        BERLIN, 2026, 3, 30, 2, 1
    )


def test_a_deadline_ending_at_closing_time_is_the_closing_instant() -> None:
    calendar = office()
    due = calendar.deadline(local(SHANGHAI, 2026, 5, 18, 9), calendar.day_length)
    assert due == local(SHANGHAI, 2026, 5, 18, 18)
    assert not calendar.is_open(due)
    assert calendar.is_open(due - timedelta(microseconds=1))
    assert calendar.is_open(local(SHANGHAI, 2026, 5, 18, 9))


def test_a_zero_duration_is_due_at_once_even_when_closed() -> None:
    sunday = local(SHANGHAI, 2026, 5, 17, 3)
    assert office().deadline(sunday, timedelta(0)) == sunday


def test_negative_durations_are_refused() -> None:
    for calendar in (office(), AlwaysOpen()):
        with pytest.raises(ValueError, match="must not be negative"):
            calendar.deadline(local(SHANGHAI, 2026, 5, 18, 9), timedelta(seconds=-1))


def test_a_calendar_that_never_opens_fails_instead_of_looping() -> None:
    mondays = frozenset(date(2026, 1, 5) + timedelta(weeks=n) for n in range(600))
    calendar = BusinessCalendar("never", SHANGHAI, frozenset({0}), time(9), time(18), mondays)
    with pytest.raises(ValueError, match="no open time within"):
        calendar.deadline(local(SHANGHAI, 2026, 1, 1), timedelta(hours=1))


def test_always_open_is_plain_arithmetic() -> None:
    calendar = AlwaysOpen()
    start = local(SHANGHAI, 2026, 5, 16, 23, 30)
    assert calendar.deadline(start, timedelta(hours=72)) == start + timedelta(hours=72)
    assert calendar.elapsed(start, start + timedelta(days=2)) == timedelta(days=2)
    assert calendar.elapsed(start, start - timedelta(days=2)) == timedelta(0)
    assert calendar.is_open(start)
    assert calendar.deadline(start, timedelta(0)).tzinfo is UTC


def test_day_length_converts_business_days_to_business_time() -> None:
    assert office().day_length == timedelta(hours=9)
    assert office(hours="08:30-17:15").day_length == timedelta(hours=8, minutes=45)


def test_common_deadlines_take_well_under_a_millisecond() -> None:
    calendar = office()
    start = local(SHANGHAI, 2026, 5, 15, 17)
    for duration in (5 * calendar.day_length, timedelta(hours=72)):
        began = clock.perf_counter()
        for _ in range(100):
            calendar.deadline(start, duration)
        assert (clock.perf_counter() - began) / 100 < 0.001


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("09:00-18:00", (time(9), time(18))),
        ("00:00-24:00", (time(0), None)),
        (" 08:30 - 17:45 ", (time(8, 30), time(17, 45))),
        ("23:59-24:00", (time(23, 59), None)),
    ],
)
def test_parse_hours_accepts_hh_mm_ranges(text: str, expected: tuple[time, time | None]) -> None:
    assert parse_hours(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("9-18", "expected HH:MM-HH:MM"),
        ("9:00-18:00", "expected HH:MM-HH:MM"),
        ("09:00", "expected HH:MM-HH:MM"),
        ("", "expected HH:MM-HH:MM"),
        ("０9:00-18:00", "expected HH:MM-HH:MM"),
        ("24:00-24:00", "only allowed as the closing time"),
        ("09:60-18:00", "minutes must be 00-59"),
        ("09:00-25:00", "hours must be 00-23"),
        ("09:00-24:30", "hours must be 00-23"),
        ("18:00-09:00", "closing time must be after opening time"),
        ("09:00-09:00", "closing time must be after opening time"),
    ],
)
def test_parse_hours_refuses_malformed_ranges(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_hours(text)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"weekdays": frozenset()}, "weekdays must not be empty"),
        ({"weekdays": frozenset({0, 7})}, "weekdays must be 0"),
        ({"weekdays": frozenset({-1})}, "weekdays must be 0"),
        ({"closes": time(8)}, "closes .* must be after opens"),
        ({"closes": time(9)}, "closes .* must be after opens"),
        ({"timezone": "Asia/Shanghai"}, "timezone must be a zoneinfo.ZoneInfo"),
        ({"timezone": UTC}, "timezone must be a zoneinfo.ZoneInfo"),
        ({"opens": time(9, tzinfo=UTC)}, "opens must be a naive local time"),
        ({"holidays": frozenset({datetime(2026, 10, 1)})}, "holidays must be datetime.date"),
    ],
)
def test_the_constructor_refuses_bad_values(overrides: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {
        "name": "bad",
        "timezone": SHANGHAI,
        "weekdays": WEEKDAYS,
        "opens": time(9),
        "closes": time(18),
    }
    with pytest.raises(ValueError, match=message):
        BusinessCalendar(**{**fields, **overrides})  # type: ignore[arg-type]


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 5, 18, 9)
    aware = local(SHANGHAI, 2026, 5, 18, 9)
    for calendar in (office(), AlwaysOpen()):
        with pytest.raises(ValueError, match="start must be timezone-aware"):
            calendar.deadline(naive, timedelta(hours=1))
        with pytest.raises(ValueError, match="start must be timezone-aware"):
            calendar.elapsed(naive, aware)
        with pytest.raises(ValueError, match="end must be timezone-aware"):
            calendar.elapsed(aware, naive)
        with pytest.raises(ValueError, match="at must be timezone-aware"):
            calendar.is_open(naive)


# Property tests. Opening hours are whole minutes, and these zones' offsets are whole
# hours, so every window edge falls on a UTC minute and minute sampling is exact.

ZONES = [ZoneInfo(name) for name in ("Europe/Berlin", "America/New_York", "Asia/Shanghai", "UTC")]
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
SPAN_MINUTES = 3 * 366 * 24 * 60
# Minutes of the day, biased towards midnight and the 02:00-03:00 hour that DST skips or repeats.
MINUTES_OF_DAY = st.one_of(st.sampled_from([0, 60, 120, 150, 180, 1440]), st.integers(0, 1440))


def clock_changes() -> list[datetime]:
    """UTC midnights in 2025-2027 right after a test zone changed its offset."""
    days = [EPOCH + timedelta(days=n) for n in range(SPAN_MINUTES // 1440)]
    return [
        later
        for tz in ZONES
        for earlier, later in pairwise(days)
        if earlier.astimezone(tz).utcoffset() != later.astimezone(tz).utcoffset()
    ]


CLOCK_CHANGES = clock_changes()


def after(at: datetime, delta: timedelta) -> datetime:
    """`at` plus `delta` of real time, in `at`'s zone.

    Plain `at + delta` is wall-clock arithmetic: it drops `fold` and ignores clock changes.
    For the same reason, tests compare and subtract instants only across different zones or
    through the offsets they were built from.
    """
    return (at.astimezone(UTC) + delta).astimezone(at.tzinfo)


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    opens, closes = sorted(draw(st.lists(MINUTES_OF_DAY, min_size=2, max_size=2, unique=True)))
    return BusinessCalendar(
        name="drawn",
        timezone=draw(st.sampled_from(ZONES)),
        weekdays=draw(st.frozensets(st.integers(0, 6), min_size=1)),
        opens=time(*divmod(opens, 60)),
        closes=None if closes == 24 * 60 else time(*divmod(closes, 60)),
        holidays=draw(st.frozensets(st.dates(date(2025, 1, 1), date(2027, 12, 31)), max_size=40)),
    )


@st.composite
def instants(draw: st.DrawFn, minute_aligned: bool = False) -> datetime:
    """An aware instant in 2025-2027, often near a clock change, shown in a test zone."""
    minutes = st.integers(0, SPAN_MINUTES)
    near_change = st.tuples(st.sampled_from(CLOCK_CHANGES), st.integers(-3 * 1440, 3 * 1440))
    at = draw(
        st.one_of(
            minutes.map(lambda m: EPOCH + timedelta(minutes=m)),
            near_change.map(lambda pair: pair[0] + timedelta(minutes=pair[1])),
        )
    )
    if not minute_aligned:
        # Whole minutes land exactly on window edges; odd microseconds land between them.
        at += timedelta(
            microseconds=draw(st.sampled_from([0, 60_000_000 - 1]) | st.integers(0, 60_000_000 - 1))
        )
    return at.astimezone(draw(st.sampled_from(ZONES)))


@st.composite
def durations(draw: st.DrawFn, calendar: BusinessCalendar) -> timedelta:
    """Up to 30 business days, so sparse calendars stay quick to walk."""
    whole_days = draw(st.integers(0, 30))
    part = draw(st.integers(0, calendar.day_length // timedelta(microseconds=1)))
    return whole_days * calendar.day_length + timedelta(microseconds=part)


offsets = st.one_of(
    st.integers(0, 3 * 1440).map(lambda m: timedelta(minutes=m)),
    st.integers(0, 45 * 24 * 3600).map(lambda s: timedelta(seconds=s)),
)
PROPERTY = settings(deadline=None, max_examples=100)


@PROPERTY
@given(st.data(), calendars(), instants())
def test_elapsed_undoes_deadline(data: st.DataObject, cal: BusinessCalendar, s: datetime) -> None:
    duration = data.draw(durations(cal))
    due = cal.deadline(s, duration)
    assert due >= s
    assert cal.elapsed(s, due) == duration
    if duration:
        assert cal.elapsed(s, due - timedelta(microseconds=1)) < duration


@PROPERTY
@given(calendars(), instants(), offsets)
def test_deadline_undoes_elapsed_up_to_closed_time(
    cal: BusinessCalendar, s: datetime, offset: timedelta
) -> None:
    e = after(s, offset)
    due = cal.deadline(s, cal.elapsed(s, e))
    assert s <= due <= e
    # Equality needs open time just before e: at a window's opening the clock was already
    # due at the previous close (or at s itself, if nothing was open in between).
    if offset and cal.is_open(after(e, -timedelta(microseconds=1))):
        assert due == e


@PROPERTY
@given(calendars(), instants(), offsets, offsets)
def test_elapsed_is_additive_monotonic_and_bounded(
    cal: BusinessCalendar, a: datetime, ab: timedelta, bc: timedelta
) -> None:
    b = after(a, ab)
    c = after(b, bc)
    assert cal.elapsed(a, c) == cal.elapsed(a, b) + cal.elapsed(b, c)
    assert cal.elapsed(a, b) <= cal.elapsed(a, c) <= ab + bc
    assert cal.elapsed(c, a) == timedelta(0)


@settings(deadline=None, max_examples=30)
@given(calendars(), instants(minute_aligned=True), st.integers(0, 3 * 24 * 60))
def test_elapsed_counts_open_minutes(cal: BusinessCalendar, start: datetime, minutes: int) -> None:
    one = timedelta(minutes=1)
    open_minutes = sum(cal.is_open(after(start, n * one)) for n in range(minutes))
    assert cal.elapsed(start, after(start, minutes * one)) == open_minutes * one


@PROPERTY
@given(calendars(), instants())
def test_is_open_reads_the_local_wall_clock_away_from_clock_changes(
    cal: BusinessCalendar, at: datetime
) -> None:
    tz = cal.timezone
    day = timedelta(days=1)
    assume(after(at, -day).astimezone(tz).utcoffset() == after(at, day).astimezone(tz).utcoffset())
    wall = at.astimezone(tz)
    expected = (
        wall.weekday() in cal.weekdays
        and wall.date() not in cal.holidays
        and cal.opens <= wall.time()
        and (cal.closes is None or wall.time() < cal.closes)
    )
    assert cal.is_open(at) == expected
