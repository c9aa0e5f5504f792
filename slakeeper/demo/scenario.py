"""The demo's months as timed events: alerts firing and resolving, what the NOC does, and
the maintenance that was planned.

Pure: no database and no clock. A seeded `random.Random` decides every story, so one seed
always gives the same months, and a month's stories do not depend on the months after it.
Each service has a role: one is troubled (long outages: below its target), one flawless
(no downtime), one is patched every Sunday; the others have ordinary months.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from rules.policy import RuleFile
from slakeeper.demo.events import Event
from slakeeper.demo.kinds import alert_kinds, choose_services
from slakeeper.demo.stories import Month, Stories, minutes_between

__all__ = ["Scenario", "build_scenario"]

# Stories per month and service: (fewest, most) of each kind, by the service's role.
_PROFILES: dict[str, dict[str, tuple[int, int]]] = {
    "troubled": {"outage": (1, 2), "degraded": (3, 5), "warning": (5, 8), "flap": (1, 2),
                 "raised": (1, 2), "minor": (1, 3), "info": (3, 6)},
    "normal": {"outage": (0, 2), "degraded": (2, 4), "warning": (3, 7), "flap": (0, 1),
               "raised": (0, 1), "minor": (1, 3), "info": (2, 6)},
    "flawless": {"outage": (0, 0), "degraded": (1, 3), "warning": (2, 5), "flap": (0, 0),
                 "raised": (0, 1), "minor": (1, 2), "info": (2, 5)},
}  # fmt: skip


@dataclass(frozen=True)
class Scenario:
    """The events of the demo, in time order, and the span they cover."""

    services: list[str]
    events: list[Event]
    start: datetime
    end: datetime


def build_scenario(
    rules: RuleFile, *, months: Sequence[tuple[int, int]], seed: int, until: datetime
) -> Scenario:
    """The demo's events for `months` (year, month), none after `until`."""
    services = choose_services(rules)
    order = random.Random(seed).sample(services, k=len(services))
    roles = dict.fromkeys(services, "normal")
    roles.update({order[0]: "troubled", order[1]: "flawless", order[2]: "patched"})
    stories = Stories(rules, alert_kinds(rules, services[0]))
    spans = [Month.of(year, month, rules.timezone) for year, month in sorted(months)]
    stories.plan_patching(order[2], spans[0])
    for (year, month), span in zip(sorted(months), spans, strict=True):
        stories.rng = random.Random(f"{seed}/{year:04d}-{month:02d}")
        _plan_month(stories, span, roles)
    events = sorted((e for e in stories.events if e.at <= until), key=lambda e: (e.at, e.order))
    last = max([spans[-1].end, *(event.at for event in events[-1:])])
    return Scenario(services, events, spans[0].start, min(last, until))


def _plan_month(stories: Stories, month: Month, roles: Mapping[str, str]) -> None:
    """The stories that make a month worth a look first, then everyday ones around them."""
    rng, kinds, services = stories.rng, stories.kinds, list(roles)
    troubled, flawless, patched = (
        next(s for s in services if roles[s] == role)
        for role in ("troubled", "flawless", "patched")
    )
    unlucky = [s for s in services if s != flawless]
    stories.plan_overrun(next(s for s in services if roles[s] == "normal"), month)
    stories.plan_switch_replacement(flawless, month)
    for sunday in rng.sample(month.days(weekday=6), 2):
        start = sunday.replace(hour=3, minute=5).astimezone(UTC)  # inside the patching window
        stories.outage(patched, month, minutes=(10, 20), at=start)
    for number, day in enumerate(rng.sample(month.days()[:-1], 4)):
        start = (day + minutes_between(0, 21 * 60, rng)).astimezone(UTC)
        stories.outage(troubled, month, minutes=(60, 120), major=number == 0, at=start)
    for _ in range(rng.randint(1, 2)):
        stories.late(rng.choice(unlucky), kinds.degraded, month, hours=(0, 3))
        stories.late(rng.choice(services), kinds.warning, month, hours=(18, 23))
    if kinds.warning:  # TLSCertificateExpiringSoon when the rules allow it
        stories.forgotten(rng.choice(services), kinds.warning[-1], month)
    if kinds.minor and rng.random() < 0.5:
        stories.forgotten(rng.choice(services), kinds.minor[0], month)
    stories.flap(rng.choice(unlucky), month)
    stories.phone_report(rng.choice([s for s in unlucky if s != troubled]), month)
    stories.email_report(rng.choice(services), month)
    for service in services:
        profile = _PROFILES.get(roles[service], _PROFILES["normal"])
        counts = {kind: rng.randint(*span) for kind, span in profile.items()}
        for _ in range(counts["outage"]):
            stories.outage(service, month, minutes=(5, 40), major=rng.random() < 0.15)
        for _ in range(counts["degraded"]):
            stories.simple(service, kinds.degraded, month, minutes=(10, 180))
        for _ in range(counts["warning"]):
            stories.simple(service, kinds.warning, month, minutes=(20, 20 * 60))
        for _ in range(counts["minor"]):
            stories.simple(service, kinds.minor, month, minutes=(60, 30 * 60))
        for _ in range(counts["info"]):
            stories.simple(service, kinds.info, month, minutes=(3, 15), worked=False)
        for _ in range(counts["flap"]):
            stories.flap(service, month)
        for _ in range(counts["raised"]):
            stories.raised(service, month)
