"""Who is on call: shifts in the rotation's zone across DST, layers, calendars, overrides."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from oncall.rotation import Layer, Override, Rotation, on_call, shift_start, turns
from rules.calendars import BusinessCalendar

BERLIN = ZoneInfo("Europe/Berlin")
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def rotation(*layers: Layer, zone: ZoneInfo = BERLIN) -> Rotation:
    return Rotation("noc", zone, layers)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def who(rotation_: Rotation, at: datetime, overrides: list[Override] | None = None) -> str | None:
    current = on_call(rotation_, overrides or [], at).current
    return current.person if current else None


def test_the_shift_hands_off_at_the_hand_off_time_to_the_next_participant() -> None:
    noc = rotation(Layer(("ana", "bo", "chen"), 12 * HOUR, datetime(2026, 11, 2, 9, 0)))
    assert who(noc, utc("2026-11-02T08:59:59+01:00")) == "chen"  # the shift before the anchor
    assert who(noc, utc("2026-11-02T09:00:00+01:00")) == "ana"
    assert who(noc, utc("2026-11-02T20:59:59+01:00")) == "ana"
    assert who(noc, utc("2026-11-02T21:00:00+01:00")) == "bo"
    assert who(noc, utc("2026-11-03T09:00:00+01:00")) == "chen"
    now = on_call(noc, [], utc("2026-11-02T10:00:00+01:00"))
    assert now.current is not None and now.current.end == utc("2026-11-02T21:00:00+01:00")
    assert [t.person for t in now.upcoming[:3]] == ["bo", "chen", "ana"]


def test_a_dst_night_in_berlin_keeps_the_hand_offs_at_nine_and_nine() -> None:
    noc = rotation(Layer(("ana", "bo"), 12 * HOUR, datetime(2026, 10, 20, 9, 0)))
    # 2026-10-25: clocks go back at 03:00 CEST; that night shift lasts 13 hours.
    night = on_call(noc, [], utc("2026-10-25T02:30:00+02:00")).current
    assert night is not None
    assert night.start == utc("2026-10-24T21:00:00+02:00")
    assert night.end == utc("2026-10-25T09:00:00+01:00")
    assert night.end - night.start == 13 * HOUR
    # 2026-03-29: clocks jump forward at 02:00 CET; that night shift lasts 11 hours.
    spring = rotation(Layer(("ana", "bo"), 12 * HOUR, datetime(2026, 3, 20, 9, 0)))
    short = on_call(spring, [], utc("2026-03-29T03:30:00+02:00")).current
    assert short is not None and short.end - short.start == 11 * HOUR
    assert short.end.astimezone(BERLIN).hour == 9


def test_an_override_covers_every_layer_and_hands_back() -> None:
    noc = rotation(Layer(("ana", "bo"), DAY, datetime(2026, 11, 2, 9, 0)))
    cover = Override("dora", utc("2026-11-02T12:00:00+01:00"), utc("2026-11-02T14:00:00+01:00"), 1)
    found = turns(noc, [cover], utc("2026-11-02T09:00:00+01:00"), utc("2026-11-03T09:00:00+01:00"))
    assert [(t.person, t.start.astimezone(BERLIN).hour, t.override) for t in found] == [
        ("ana", 9, None),
        ("dora", 12, 1),
        ("ana", 14, None),
    ]
    later = Override("eve", utc("2026-11-02T13:00:00+01:00"), utc("2026-11-02T15:00:00+01:00"), 2)
    assert who(noc, utc("2026-11-02T13:30:00+01:00"), [cover, later]) == "eve"


def test_a_business_hours_layer_covers_the_day_and_leaves_the_night_to_the_one_below() -> None:
    business = BusinessCalendar(
        "business", BERLIN, frozenset(range(5)), time(9), time(18), frozenset()
    )
    noc = rotation(
        Layer(("ana", "bo"), 12 * HOUR, datetime(2026, 11, 2, 9, 0)),
        Layer(("lead",), 7 * DAY, datetime(2026, 11, 2, 9, 0), business),
    )
    assert who(noc, utc("2026-11-03T10:00:00+01:00")) == "lead"  # a Tuesday
    assert who(noc, utc("2026-11-03T18:00:00+01:00")) == "ana"  # closed: the 12 h layer
    assert who(noc, utc("2026-11-07T10:00:00+01:00")) == "ana"  # a Saturday: no business


# --- the fast walk against a brute-force one ---

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Shanghai", "UTC"]
# Instants near changes of daylight-saving time, where the arithmetic can go wrong.
NEAR = [
    datetime(2026, 3, 29, tzinfo=UTC),
    datetime(2026, 10, 25, tzinfo=UTC),
    datetime(2026, 3, 8, tzinfo=UTC),
    datetime(2026, 11, 1, tzinfo=UTC),
    datetime(2026, 4, 5, tzinfo=UTC),
    datetime(2026, 10, 4, tzinfo=UTC),
]


def brute_person(rotation_: Rotation, overrides: list[Override], at: datetime) -> str | None:
    """Who is on call at `at`, found by walking the shifts one by one from the hand-off."""
    for override in sorted(overrides, key=lambda o: o.id, reverse=True):
        if override.start <= at < override.end:
            return override.person
    for layer in reversed(rotation_.layers):
        k = 0
        if shift_start(layer, rotation_.zone, 0) <= at:
            while shift_start(layer, rotation_.zone, k + 1) <= at:
                k += 1
        else:
            while shift_start(layer, rotation_.zone, k) > at:
                k -= 1
        if layer.calendar is not None and not layer.calendar.is_open(at):
            continue
        return layer.participants[k % len(layer.participants)]
    return None


@st.composite
def rotations_and_instants(draw: st.DrawFn) -> tuple[Rotation, list[Override], datetime]:
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    around = draw(st.sampled_from(NEAR))
    at = around + timedelta(minutes=draw(st.integers(-3 * 24 * 60, 3 * 24 * 60)))
    layers = []
    for _ in range(draw(st.integers(1, 3))):
        handoff = (
            (at + timedelta(minutes=draw(st.integers(-40 * 1440, 40 * 1440))))
            .astimezone(zone)
            .replace(tzinfo=None, second=0, microsecond=0)
        )
        calendar = None
        if draw(st.booleans()):
            opens = draw(st.integers(0, 12))
            calendar = BusinessCalendar(
                "hours", zone, frozenset(range(5)), time(opens), time(opens + 8), frozenset()
            )
        layers.append(
            Layer(
                tuple(draw(st.lists(st.sampled_from("abcde"), min_size=1, max_size=4))),
                timedelta(minutes=draw(st.integers(60, 14 * 1440))),
                handoff,
                calendar,
            )
        )
    overrides = []
    for number in range(draw(st.integers(0, 2))):
        start = at + timedelta(minutes=draw(st.integers(-600, 600)))
        end = start + timedelta(minutes=draw(st.integers(1, 900)))
        overrides.append(Override(draw(st.sampled_from("xyz")), start, end, number + 1))
    return Rotation("r", zone, tuple(layers)), overrides, at


@settings(max_examples=400, deadline=None)
@given(rotations_and_instants())
def test_who_is_on_call_agrees_with_walking_the_shifts_one_by_one(
    case: tuple[Rotation, list[Override], datetime],
) -> None:
    rotation_, overrides, at = case
    assert who(rotation_, at, overrides) == brute_person(rotation_, overrides, at)


@settings(max_examples=200, deadline=None)
@given(rotations_and_instants())
def test_turns_are_ordered_disjoint_and_each_says_who_is_on_call_inside_it(
    case: tuple[Rotation, list[Override], datetime],
) -> None:
    rotation_, overrides, at = case
    found = turns(rotation_, overrides, at - DAY, at + DAY)
    for turn, following in zip(found, found[1:], strict=False):
        assert turn.start < turn.end <= following.start
    for turn in found:
        middle = turn.start + (turn.end - turn.start) / 2
        assert brute_person(rotation_, overrides, turn.start) == turn.person
        assert brute_person(rotation_, overrides, middle) == turn.person
