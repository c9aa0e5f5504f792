"""Who is on call: the shifts of a rotation's layers, with overrides on top (pure).

A layer's participants take turns, one shift each. Shifts start at the layer's hand-off and
every `shift` after it (and before it: the hand-off is an anchor, not a beginning), counted in
wall-clock time in the rotation's zone, so a 09:00 hand-off stays at 09:00 across a change of
daylight-saving time and the shift over that night is an hour shorter or longer. A hand-off
at a local time the clock skips happens when the clock jumps over it; at a local time that
comes twice, the first time. A layer with a calendar covers only while the calendar is open.

Where several layers have someone, the later layer covers; an override covers every layer,
and where overrides overlap, the later one (higher id) covers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from rules.calendars import Calendar

__all__ = [
    "Layer",
    "OnCall",
    "Override",
    "Rotation",
    "Turn",
    "layer_turns",
    "on_call",
    "shift_index",
    "shift_start",
    "turns",
]

# How far back the current turn is looked for: its start is shown up to this far back.
LOOKBACK = timedelta(days=8)


@dataclass(frozen=True, slots=True)
class Layer:
    """`participants` in turn, `shift` each, from the naive local `handoff` on (and back)."""

    participants: tuple[str, ...]
    shift: timedelta
    handoff: datetime
    calendar: Calendar | None = None

    def __post_init__(self) -> None:
        if not self.participants:
            raise ValueError("a layer needs at least one participant")
        if self.shift < timedelta(minutes=1):
            raise ValueError(f"a shift must be at least a minute, got {self.shift}")
        if self.handoff.tzinfo is not None:
            raise ValueError("a hand-off is a naive local time; the rotation's zone places it")


@dataclass(frozen=True, slots=True)
class Rotation:
    name: str
    zone: ZoneInfo
    layers: tuple[Layer, ...]


@dataclass(frozen=True, slots=True)
class Override:
    """`person` covers the rotation over [start, end)."""

    person: str
    start: datetime
    end: datetime
    id: int = 0


@dataclass(frozen=True, slots=True)
class Turn:
    """`person` on call over [start, end), by layer `layer` or by override `override`."""

    person: str
    start: datetime
    end: datetime
    layer: int | None = None
    override: int | None = None


@dataclass(frozen=True, slots=True)
class OnCall:
    """Who is on call at an instant (None: nobody), and the turns after, in order."""

    current: Turn | None
    upcoming: tuple[Turn, ...]


def shift_start(layer: Layer, zone: ZoneInfo, k: int) -> datetime:
    """When shift `k` (0: the one starting at the hand-off) starts, in UTC."""
    return (layer.handoff + k * layer.shift).replace(tzinfo=zone).astimezone(UTC)


def shift_index(layer: Layer, zone: ZoneInfo, at: datetime) -> int:
    """The shift under way at `at`: the last one to start at or before it."""
    local = at.astimezone(zone).replace(tzinfo=None)
    k = (local - layer.handoff) // layer.shift
    # The wall-clock estimate is off by at most a shift around a change of offset.
    while shift_start(layer, zone, k) > at:
        k -= 1
    while shift_start(layer, zone, k + 1) <= at:
        k += 1
    return k


def layer_turns(
    layer: Layer, zone: ZoneInfo, index: int, start: datetime, end: datetime
) -> list[Turn]:
    """The turns of one layer over [start, end), clipped to it and to the layer's calendar."""
    found: list[Turn] = []
    k = shift_index(layer, zone, start)
    begins = shift_start(layer, zone, k)
    while begins < end:
        ends = shift_start(layer, zone, k + 1)
        low, high = max(begins, start), min(ends, end)
        if high > low:
            person = layer.participants[k % len(layer.participants)]
            spans = (
                [(low, high)] if layer.calendar is None else layer.calendar.open_spans(low, high)
            )
            found.extend(Turn(person, a, b, layer=index) for a, b in spans)
        k, begins = k + 1, ends
    return found


def turns(
    rotation: Rotation, overrides: list[Override], start: datetime, end: datetime
) -> list[Turn]:
    """Who is on call over [start, end), as consecutive turns (gaps where nobody is)."""
    sources = [
        layer_turns(layer, rotation.zone, index, start, end)
        for index, layer in enumerate(rotation.layers)
    ]
    ordered = sorted(overrides, key=lambda override: override.id)
    sources.extend(
        [Turn(o.person, max(o.start, start), min(o.end, end), override=o.id)]
        for o in ordered
        if min(o.end, end) > max(o.start, start)
    )
    edges = sorted(
        {start, end, *(t.start for s in sources for t in s), *(t.end for s in sources for t in s)}
    )
    positions = [0] * len(sources)
    result: list[Turn] = []
    for low, high in zip(edges, edges[1:], strict=False):
        winner: Turn | None = None
        for number, source in enumerate(sources):
            while positions[number] < len(source) and source[positions[number]].end <= low:
                positions[number] += 1
            if positions[number] < len(source) and source[positions[number]].start <= low:
                winner = source[positions[number]]  # later sources cover earlier ones
        if winner is None:
            continue
        last = result[-1] if result else None
        same = last is not None and last.end == low and _same_source(last, winner)
        if same and last is not None:
            result[-1] = Turn(last.person, last.start, high, last.layer, last.override)
        else:
            result.append(Turn(winner.person, low, high, winner.layer, winner.override))
    return result


def _same_source(one: Turn, other: Turn) -> bool:
    return (one.person, one.layer, one.override) == (other.person, other.layer, other.override)


def on_call(
    rotation: Rotation,
    overrides: list[Override],
    at: datetime,
    *,
    horizon: timedelta = timedelta(days=7),
) -> OnCall:
    """Who is on call at `at` (since when, at most LOOKBACK back) and the turns that follow
    within `horizon`."""
    found = turns(rotation, overrides, at - LOOKBACK, at + horizon)
    current = next((turn for turn in found if turn.start <= at < turn.end), None)
    upcoming = tuple(turn for turn in found if turn.start > at)
    return OnCall(current, upcoming)
