"""The demo's stories, as timed events: an outage, a degradation, a warning raised to
critical, a flap, a fault reported by phone, maintenance that overruns, and what the NOC
does about each: acknowledge (in time, or late), raise to the top priority, close.

Pure: no database and no clock; the caller's seeded `random.Random` decides the details.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from availability.maintenance import MaintenanceDefinition, Origin
from incident.service import ManualIncident
from rules.policy import PriorityPolicy, RuleFile
from rules.schema import Category, Impact
from slakeeper.demo.events import (
    Acknowledge,
    Action,
    AlertNotice,
    Close,
    Event,
    PlanMaintenance,
    Reclassify,
    Report,
    ResolveByHand,
    Webhook,
)
from slakeeper.demo.kinds import AlertKinds, Labels, service_labels

__all__ = ["GROUP_WAIT", "REPEAT_INTERVAL", "Month", "Stories", "minutes_between"]

# Alertmanager's defaults: a notification follows a change after group_wait, and a firing
# alert is sent again every repeat_interval.
GROUP_WAIT = timedelta(seconds=30)
REPEAT_INTERVAL = timedelta(hours=4)
# A story's length, or a function of its start that gives it.
Length = timedelta | Callable[[datetime], timedelta]

NOC_STAFF = ("ana", "bo", "chen", "dana", "emeka")
SERVICE_OWNERS = ("Li Wei", "Maria Costa", "Sam Okafor")
PLANNER = "change-board"


def minutes_between(low: float, high: float, rng: random.Random) -> timedelta:
    """A random duration of `low` to `high` minutes, to the second."""
    return timedelta(seconds=round(rng.uniform(low, high) * 60))


@dataclass(frozen=True)
class Month:
    """A calendar month of the rule file's time zone, [start, end) in UTC."""

    start: datetime
    end: datetime
    timezone: ZoneInfo

    @classmethod
    def of(cls, year: int, month: int, timezone: ZoneInfo) -> Month:
        after = (year + 1, 1) if month == 12 else (year, month + 1)
        start = datetime(year, month, 1, tzinfo=timezone).astimezone(UTC)
        return cls(start, datetime(*after, 1, tzinfo=timezone).astimezone(UTC), timezone)

    def days(self, weekday: int | None = None) -> list[datetime]:
        """Local midnights of the month's days (of one weekday, Monday being 0)."""
        local, found = self.start.astimezone(self.timezone), []
        while local < self.end:
            if weekday is None or local.weekday() == weekday:
                found.append(local)
            local += timedelta(days=1)  # wall-clock arithmetic: the next local midnight
        return found


class Stories:
    """Writes stories as events: each is an incident (or an alert) and what people do.

    `rng` is the month's random generator; `busy` keeps each group key's stories apart, so
    that two stories never merge into one incident by chance.
    """

    def __init__(self, rules: RuleFile, kinds: AlertKinds) -> None:
        self.rules, self.kinds = rules, kinds
        self.rng = random.Random(0)
        self.events: list[Event] = []
        self.busy: dict[str, list[tuple[datetime, datetime]]] = {}
        self.manual = 0
        by_rank = sorted(rules.priorities.values(), key=lambda policy: policy.rank)
        self.top, self.middle = by_rank[0].name, by_rank[min(2, len(by_rank) - 1)].name

    def emit(self, at: datetime, action: Action) -> None:
        self.events.append(Event(at, len(self.events), action))

    # -- alerts and when they fit ---------------------------------------------------------

    def labels(self, service: str, kind: Labels, instance: int = 1) -> dict[str, str]:
        return {**kind, **service_labels(service, instance), "env": "production"}

    def alert(self, labels: Labels, start: datetime, end: datetime) -> None:
        """Alertmanager's notifications of one alert instance: firing, repeats, resolved."""
        annotations = {"summary": f"{labels['alertname']} on {labels['instance']}"}
        firing = AlertNotice(labels, annotations, start)
        at = start + GROUP_WAIT
        while at < end:
            self.emit(at, Webhook((firing,)))
            at += REPEAT_INTERVAL
        self.emit(end + GROUP_WAIT, Webhook((AlertNotice(labels, annotations, start, end),)))

    def when(self, month: Month, hours: tuple[int, int] | None = None) -> datetime:
        """A random instant of the month, or of a random day between local `hours`."""
        if hours is None:
            offset = self.rng.uniform(0, (month.end - month.start).total_seconds())
            return (month.start + timedelta(seconds=offset)).replace(microsecond=0)
        day = self.rng.choice(month.days())
        return (day + minutes_between(hours[0] * 60, hours[1] * 60, self.rng)).astimezone(UTC)

    def slot(
        self, key: str, length: Length, month: Month, hours: tuple[int, int] | None = None
    ) -> tuple[datetime, datetime] | None:
        """A start and end when `key`'s group is quiet (so stories don't merge), or None."""
        margin = self.rules.reopen_window + timedelta(minutes=5)
        for _ in range(40):
            start = self.when(month, hours)
            end = start + (length(start) if callable(length) else length)
            taken = self.busy.get(key, [])
            if all(end + margin <= s or e + margin <= start for s, e in taken):
                self.busy.setdefault(key, []).append((start, end))
                return start, end
        return None

    def story(
        self,
        service: str,
        kind: Labels,
        month: Month,
        *,
        length: Length,
        instances: int = 1,
        hours: tuple[int, int] | None = None,
        at: datetime | None = None,
    ) -> tuple[str, datetime, datetime] | None:
        """Alerts of one group on `instances` targets: (group key, start, end), or None if
        the group is never quiet long enough."""
        labels = [self.labels(service, kind, n + 1) for n in range(instances)]
        key = self.rules.ruleset.classify(labels[0]).group_key
        if at is None:
            placed = self.slot(key, length, month, hours)
            if placed is None:
                return None
            at, end = placed
        else:
            end = at + (length(at) if callable(length) else length)
            self.busy.setdefault(key, []).append((at, end))
        for n, one in enumerate(labels):
            starts = at + timedelta(seconds=self.rng.randint(0, 90) * n)
            self.alert(
                one, starts, max(starts + GROUP_WAIT * 2, end - minutes_between(0, 1, self.rng))
            )
        return key, at, end

    # -- what the NOC does ----------------------------------------------------------------

    def noc(self) -> str:
        return self.rng.choice(NOC_STAFF)

    def reaction(self, seen: datetime) -> timedelta:
        """How long the NOC takes to acknowledge: minutes by day, longer at night."""
        hour = seen.astimezone(self.rules.timezone).hour
        return (
            minutes_between(1, 12, self.rng) if 8 <= hour < 20 else minutes_between(4, 35, self.rng)
        )

    def acknowledge(self, target: str, at: datetime, *, before: datetime) -> None:
        if at < before:  # an incident that resolved first needs no acknowledgement
            self.emit(at, Acknowledge(target, self.noc()))

    def close(self, target: str, resolved: datetime, confirmed_by: str | None = None) -> None:
        """The service owner confirms the resolution the next morning."""
        local = resolved.astimezone(self.rules.timezone) + timedelta(days=1)
        morning = local.replace(hour=9, minute=30, second=0, microsecond=0)
        owner = confirmed_by or self.rng.choice(SERVICE_OWNERS)
        at = (morning + minutes_between(0, 120, self.rng)).astimezone(UTC)
        self.emit(at, Close(target, self.noc(), owner))

    # -- stories --------------------------------------------------------------------------

    def outage(
        self,
        service: str,
        month: Month,
        *,
        minutes: tuple[float, float],
        major: bool = False,
        at: datetime | None = None,
    ) -> None:
        """Targets down; a major one (the whole service) is raised to the top priority."""
        kind = self.rng.choice(self.kinds.outage)
        instances = self.rng.randint(2, 3) if major else self.rng.randint(1, 2)
        length = minutes_between(*minutes, self.rng)
        placed = self.story(service, kind, month, length=length, instances=instances, at=at)
        if placed is None:
            return
        key, start, end = placed
        seen = start + GROUP_WAIT
        acked = seen + (minutes_between(2, 8, self.rng) if major else self.reaction(seen))
        self.acknowledge(key, acked, before=end)
        if major and acked < end:
            change = Reclassify(
                key, self.noc(), self.top, f"{service} is down", "every target down"
            )
            self.emit(acked + minutes_between(1, 4, self.rng), change)
        if major or self.rng.random() < 0.4:
            self.close(key, end)

    def simple(
        self,
        service: str,
        kinds: Sequence[Labels],
        month: Month,
        *,
        minutes: tuple[float, float],
        worked: bool = True,
    ) -> None:
        """One alert group, acknowledged as usual unless it is gone first."""
        if not kinds:
            return
        kind = self.rng.choice(kinds)
        instances = self.rng.choice((1, 1, 1, 2, 3))
        length = minutes_between(*minutes, self.rng)
        placed = self.story(service, kind, month, length=length, instances=instances)
        if placed is None or not worked:
            return
        key, start, end = placed
        self.acknowledge(key, start + GROUP_WAIT + self.reaction(start), before=end)
        if self.rng.random() < 0.25:
            self.close(key, end)

    def late(
        self, service: str, kinds: Sequence[Labels], month: Month, *, hours: tuple[int, int]
    ) -> None:
        """Fires at night and waits for the morning: acknowledged after its response target."""
        if not kinds:
            return
        kind = self.rng.choice(kinds)
        respond = self.policy(service, kind).respond

        def length(start: datetime) -> timedelta:
            return respond.deadline(start + GROUP_WAIT) - start + minutes_between(60, 240, self.rng)

        placed = self.story(service, kind, month, length=length, hours=hours)
        if placed is not None:
            key, start, end = placed
            due = respond.deadline(start + GROUP_WAIT)
            self.acknowledge(key, due + minutes_between(15, 50, self.rng), before=end)

    def forgotten(self, service: str, kind: Labels, month: Month) -> None:
        """A fault nobody fixes in time: it clears after its resolution target."""
        resolve = self.policy(service, kind).resolve

        def length(start: datetime) -> timedelta:
            return (
                resolve.deadline(start + GROUP_WAIT)
                - start
                + minutes_between(120, 30 * 60, self.rng)
            )

        placed = self.story(service, kind, month, length=length, hours=(9, 17))
        if placed is not None:
            key, start, end = placed
            self.acknowledge(key, start + GROUP_WAIT + self.reaction(start), before=end)

    def policy(self, service: str, kind: Labels) -> PriorityPolicy:
        """The priority the rule file gives an alert of `kind` on `service`."""
        return self.rules.priorities[
            self.rules.ruleset.classify(self.labels(service, kind)).priority
        ]

    def flap(self, service: str, month: Month) -> None:
        """A group that resolves and fires again within the reopen window, a few times."""
        kind = self.rng.choice(self.kinds.outage)
        labels = self.labels(service, kind)
        window = self.rules.reopen_window.total_seconds() / 60
        spans, at = [], timedelta(0)
        for _ in range(self.rng.randint(2, 4)):
            firing = minutes_between(2, 6, self.rng)
            spans.append((at, at + firing))
            at += firing + minutes_between(1, max(1.5, window * 0.6), self.rng)
        key = self.rules.ruleset.classify(labels).group_key
        placed = self.slot(key, spans[-1][1], month)
        if placed is None:
            return
        start = placed[0]
        for begins, ends in spans:
            self.alert(labels, start + begins, start + ends)
        self.acknowledge(key, start + GROUP_WAIT + self.reaction(start), before=start + spans[0][1])

    def raised(self, service: str, month: Month) -> None:
        """A warning, then a critical alert of the same group: the incident is raised."""
        if self.kinds.raised is None:
            return
        warning, worse = (self.labels(service, kind) for kind in self.kinds.raised)
        rise, worst, tail = (
            minutes_between(*span, self.rng) for span in ((5, 30), (15, 90), (5, 20))
        )
        key = self.rules.ruleset.classify(warning).group_key
        placed = self.slot(key, rise + worst + tail, month)
        if placed is None:
            return
        start, end = placed
        self.alert(warning, start, end)
        self.alert(worse, start + rise, start + rise + worst)
        self.acknowledge(key, start + GROUP_WAIT + self.reaction(start), before=end)

    def phone_report(self, service: str, month: Month) -> None:
        """A customer phones: an outage no alert saw, at the top priority."""
        self.manual += 1
        target, reporter = f"manual/{self.manual}", self.rng.choice(SERVICE_OWNERS)
        at = self.when(month, hours=(9, 18))
        report = ManualIncident(
            title=f"Customers cannot use {service} (reported by phone)",
            service=service,
            priority=self.top,
            impact=Impact.OUTAGE,
            category=Category.SOFTWARE,
            reporter=reporter,
            channel="phone",
            started_at=at - minutes_between(10, 30, self.rng),
        )
        self.emit(at, Report(target, self.noc(), report))
        self.emit(at + minutes_between(2, 8, self.rng), Acknowledge(target, self.noc()))
        resolved = at + minutes_between(40, 120, self.rng)
        self.emit(resolved, ResolveByHand(target, self.noc(), "configuration rolled back"))
        self.close(target, resolved, confirmed_by=reporter)

    def email_report(self, service: str, month: Month) -> None:
        """A user writes in about a fault that stops no one."""
        self.manual += 1
        target = f"manual/{self.manual}"
        at = self.when(month, hours=(8, 19))
        report = ManualIncident(
            title=f"{service}: e-mails show last month's date",
            service=service,
            priority=self.middle,
            impact=Impact.NONE,
            category=Category.OTHER,
            reporter=self.rng.choice(SERVICE_OWNERS),
            channel="email",
        )
        self.emit(at, Report(target, self.noc(), report))
        self.emit(at + minutes_between(10, 60, self.rng), Acknowledge(target, self.noc()))
        resolved = at + minutes_between(3 * 60, 26 * 60, self.rng)
        self.emit(resolved, ResolveByHand(target, self.noc(), "template fixed"))

    # -- maintenance ----------------------------------------------------------------------

    def plan_patching(self, service: str, first: Month) -> None:
        """Weekly patching, planned once: Sundays 03:00–04:00 in the service's time zone."""
        window = MaintenanceDefinition(
            service=service,
            origin=Origin.API,
            reason="weekly OS patching",
            cron="0 3 * * sun",
            duration=timedelta(hours=1),
        )
        self.emit(first.start - timedelta(days=7), PlanMaintenance(window, PLANNER))

    def plan_overrun(self, service: str, month: Month) -> None:
        """A database upgrade planned for two hours that overruns: its last part is downtime."""
        start = self.rng.choice(month.days(weekday=5)).replace(hour=22).astimezone(UTC)
        end = start + timedelta(hours=2)
        window = MaintenanceDefinition(
            service=service, origin=Origin.API, reason="database upgrade", start=start, end=end
        )
        self.emit(start - timedelta(days=3), PlanMaintenance(window, PLANNER))
        begins = start + minutes_between(5, 20, self.rng)
        minutes = (end + minutes_between(20, 50, self.rng) - begins).total_seconds() / 60
        self.outage(service, month, minutes=(minutes, minutes), at=begins)

    def plan_switch_replacement(self, service: str, month: Month) -> None:
        """A planned network change: the targets go down inside the window, no downtime."""
        start = self.rng.choice(month.days(weekday=1)).replace(hour=6).astimezone(UTC)
        window = MaintenanceDefinition(
            service=service,
            origin=Origin.API,
            reason="core switch replacement",
            start=start,
            end=start + timedelta(minutes=45),
        )
        self.emit(start - timedelta(days=5), PlanMaintenance(window, PLANNER))
        self.outage(service, month, minutes=(10, 25), at=start + minutes_between(8, 12, self.rng))
