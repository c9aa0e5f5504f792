"""An incident's clocks as the detail page shows them, and a month's windows as bars."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from availability.overview import MonthTimeline
from availability.periods import Period
from console.clocks import incident_clocks
from console.timeline import month_bars

OPENED = datetime(2026, 11, 21, 22, 0, tzinfo=UTC)


@dataclass
class Times:
    opened_at: datetime = OPENED
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    response_due_at: datetime | None = OPENED + timedelta(hours=1)
    resolution_due_at: datetime | None = None
    response_breached: bool = False
    resolution_breached: bool = False


def test_a_running_response_clock_turns_amber_then_red() -> None:
    response, resolution = incident_clocks(Times(), OPENED + timedelta(minutes=30))
    assert (response.status, response.tone, response.left) == (
        "running",
        "ok",
        timedelta(minutes=30),
    )
    assert resolution.status == "none"  # measured from the acknowledgement, not yet due
    assert incident_clocks(Times(), OPENED + timedelta(minutes=50))[0].tone == "amber"
    late = incident_clocks(Times(), OPENED + timedelta(minutes=61))[0]
    assert (late.tone, late.left) == ("red", timedelta(minutes=-1))


def test_an_acknowledgement_stops_the_response_clock_met_or_breached() -> None:
    acked = OPENED + timedelta(minutes=12)
    times = Times(acknowledged_at=acked, resolution_due_at=acked + timedelta(hours=4))
    response, resolution = incident_clocks(times, OPENED + timedelta(hours=2))
    assert (response.status, response.took, response.met) == (
        "stopped",
        timedelta(minutes=12),
        True,
    )
    assert resolution.status == "running" and resolution.left == timedelta(hours=2, minutes=12)
    late = Times(acknowledged_at=OPENED + timedelta(hours=2), response_breached=True)
    stopped = incident_clocks(late, OPENED + timedelta(hours=3))[0]
    assert (stopped.met, stopped.tone) == (False, "red")


def test_resolving_without_an_acknowledgement_stops_both_clocks() -> None:
    resolved = OPENED + timedelta(minutes=20)
    times = Times(resolved_at=resolved, resolution_due_at=OPENED + timedelta(hours=8))
    response, resolution = incident_clocks(times, OPENED + timedelta(days=1))
    assert response.stopped_at == resolved and response.met
    assert resolution.stopped_at == resolved and resolution.took == timedelta(minutes=20)


def test_windows_are_placed_on_the_month_and_a_short_one_stays_visible() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    end = datetime(2026, 12, 1, tzinfo=UTC)  # 30 days
    timeline = MonthTimeline(
        Period(start, start + timedelta(days=20)),
        downtime=[(start + timedelta(days=15), start + timedelta(days=15, hours=18))],
        degraded=[(start + timedelta(days=3), start + timedelta(days=3, seconds=5))],
        maintenance=[],
    )
    bars = {bar.kind: bar for bar in month_bars(timeline, start, end)}
    assert (bars["downtime"].left, bars["downtime"].width) == (50.0, 2.5)
    assert bars["degraded"].left == 10.0 and bars["degraded"].width == 0.1
