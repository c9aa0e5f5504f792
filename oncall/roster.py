"""Rotations as the rule file or the API define them, made ready to compute (pure)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from oncall.rotation import Layer, Rotation
from rules.policy import RuleFile
from rules.reaching import RotationSpec

__all__ = ["UnknownCalendar", "build_rotation"]


class UnknownCalendar(ValueError):
    """A layer names a calendar the rule file does not define."""

    def __init__(self, rotation: str, calendar: str, known: list[str]) -> None:
        super().__init__(
            f"rotation {rotation!r}: unknown calendar {calendar!r}; defined: {', '.join(known)}"
        )
        self.calendar = calendar


def build_rotation(name: str, spec: RotationSpec, rules: RuleFile) -> Rotation:
    """The rotation `spec` describes, its calendars and default zone from `rules`."""
    zone = ZoneInfo(spec.timezone) if spec.timezone else rules.timezone
    layers = []
    for layer in spec.layers:
        calendar = None
        if layer.calendar is not None:
            calendar = rules.calendars.get(layer.calendar)
            if calendar is None:
                raise UnknownCalendar(name, layer.calendar, sorted(rules.calendars))
        layers.append(Layer(tuple(layer.participants), layer.shift.value, layer.handoff, calendar))
    return Rotation(name, zone, tuple(layers))
