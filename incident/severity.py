"""How severe an incident is and what its alerts would raise: level, priority, impact.

Pure: the rule file's ranks decide; no database. An incident is only ever raised by its
alerts, never lowered. `Tolerance` says, for a group of new alerts, which incidents they
join as they are (the common case, decided in SQL without loading the incident).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from incident.grouping import raise_priority, worse_impact
from rules.policy import RuleFile
from rules.schema import Impact

__all__ = ["Member", "Severity", "Tolerance", "changed_fields", "tolerance", "worse_level", "worst"]


class Member(Protocol):
    """What severity reads of an alert."""

    @property
    def level(self) -> str | None: ...
    @property
    def priority(self) -> str | None: ...
    @property
    def impact(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Tolerance:
    """The incidents a group's alerts join without raising them.

    `levels`: the levels at least as severe as the alerts' worst known one (None when no
    alert has a level the rule file knows: then any level, none included, is left alone).
    `raised_priorities` and `raised_impacts`: the values the alerts would raise.
    """

    levels: tuple[str, ...] | None
    raised_priorities: tuple[str, ...]
    raised_impacts: tuple[str, ...]

    def leaves(self, level: str | None, priority: str, impact: str) -> bool:
        """Whether an incident with these values stays as it is."""
        return (
            (self.levels is None or level in self.levels)
            and priority not in self.raised_priorities
            and impact not in self.raised_impacts
        )


def tolerance(members: Sequence[Member], rules: RuleFile) -> Tolerance:
    # The alerts' own worst, folded from the mildest start; `_worst` of an incident with
    # these alerts is then the pairwise worse of the two, checked here value by value.
    ranks = {name: policy.rank for name, policy in rules.priorities.items()}
    mildest = max(ranks, key=ranks.__getitem__) if ranks else ""
    alerts_worst = worst(members, rules, Severity(None, mildest, Impact.NONE))
    floor = alerts_worst.level
    levels = (
        None
        if floor is None
        else tuple(name for name in rules.levels if worse_level(rules, name, floor) == name)
    )
    return Tolerance(
        levels=levels,
        raised_priorities=tuple(
            name for name in ranks if raise_priority(name, alerts_worst.priority, ranks) != name
        ),
        raised_impacts=tuple(
            impact.value for impact in Impact if worse_impact(impact, alerts_worst.impact) != impact
        ),
    )


@dataclass(frozen=True, slots=True)
class Severity:
    level: str | None
    priority: str
    impact: Impact


def worst(members: Sequence[Member], rules: RuleFile, start: Severity) -> Severity:
    level, priority, impact = start.level, start.priority, start.impact
    ranks = {name: policy.rank for name, policy in rules.priorities.items()}
    for alert in members:
        if alert.priority in ranks and priority in ranks:
            priority = raise_priority(priority, alert.priority, ranks)
        if alert.impact is not None:
            impact = worse_impact(impact, Impact(alert.impact))
        level = worse_level(rules, level, alert.level)
    return Severity(level, priority, impact)


def worse_level(rules: RuleFile, current: str | None, candidate: str | None) -> str | None:
    if candidate is None or candidate not in rules.levels:
        return current
    if current is None or current not in rules.levels:
        return candidate
    return candidate if rules.levels[candidate].rank > rules.levels[current].rank else current


def changed_fields(
    before: Severity, after: Severity
) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """The fields `after` changes, as the timeline's `raised` entry records them."""
    changed_before: dict[str, str | None] = {}
    changed_after: dict[str, str | None] = {}
    for name in ("level", "priority", "impact"):
        old, new = getattr(before, name), getattr(after, name)
        if old != new:
            changed_before[name] = str(old) if old is not None else None
            changed_after[name] = str(new) if new is not None else None
    return changed_before, changed_after
