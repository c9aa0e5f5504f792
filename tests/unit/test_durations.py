"""Durations as Prometheus writes them, plus business days."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rules.durations import parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("10m", timedelta(minutes=10)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
        ("1y", timedelta(days=365)),
        ("500ms", timedelta(milliseconds=500)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("0s", timedelta(0)),
    ],
)
def test_prometheus_durations_parse_to_wall_clock_time(text: str, expected: timedelta) -> None:
    duration = parse_duration(text)
    assert duration.value == expected
    assert not duration.is_business
    assert str(duration) == text


def test_business_days_are_kept_as_a_count_for_the_business_calendar() -> None:
    duration = parse_duration("5bd")
    assert duration.is_business and duration.business_days == 5


@pytest.mark.parametrize("text", ["", "10", "1hour", "1m1h", "h", "-5m", "1.5h", "5 bd", "2bd1h"])
def test_malformed_durations_are_rejected_saying_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match="expected a number and a unit"):
        parse_duration(text)
