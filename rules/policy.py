"""A validated rule file, compiled: the classifier and the SLA policy the other domains use."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import holidays as holiday_tables

from rules.calendars import AlwaysOpen, BusinessCalendar, Calendar, parse_hours
from rules.durations import Duration
from rules.engine import CompiledMatchers, Outcome, RuleSet
from rules.matchers import Matcher, MatchOp
from rules.schema import (
    CalendarSpec,
    ContactSpec,
    CreditsSpec,
    HeartbeatSpec,
    MaintenanceSpec,
    RuleFileSpec,
)
from rules.templates import TitleTemplate

__all__ = [
    "NO_CREDITS",
    "CreditPolicy",
    "EscalationStep",
    "HeartbeatPolicy",
    "Level",
    "PriorityPolicy",
    "RuleFile",
    "ServicePolicy",
    "SlaTarget",
    "compile_rule_file",
]

_WEEKDAY_NUMBERS = {
    name: number for number, name in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
}
ALWAYS = AlwaysOpen()


@dataclass(frozen=True, slots=True)
class SlaTarget:
    """A duration counted on a calendar: `deadline(start)` and `elapsed(start, end)`."""

    duration: Duration
    length: timedelta
    calendar: Calendar

    def deadline(self, start: datetime) -> datetime:
        return self.calendar.deadline(start, self.length)

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        return self.calendar.elapsed(start, end)


@dataclass(frozen=True, slots=True)
class PriorityPolicy:
    name: str
    rank: int  # 0 is the most urgent
    respond: SlaTarget
    resolve: SlaTarget
    resolution_from: str


@dataclass(frozen=True, slots=True)
class Level:
    name: str
    rank: int  # 0 is the least severe
    notify: tuple[str, ...]
    open_incident: bool


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """Notify `notify` once `after` has passed since the incident opened, unless `unless`."""

    index: int
    after: SlaTarget
    notify: tuple[str, ...]
    unless: str


@dataclass(frozen=True, slots=True)
class CreditPolicy:
    """Service credits: `tiers` of (below_ratio, credit_ratio), highest `below` first, the
    credit not decreasing as `below` decreases; no credit above `max_ratio`."""

    tiers: tuple[tuple[float, float], ...] = ()
    max_ratio: float = 1.0

    def __post_init__(self) -> None:
        if not 0 <= self.max_ratio <= 1:
            raise ValueError(f"max_ratio must lie in [0, 1], got {self.max_ratio}")
        for below, credit in self.tiers:
            if not 0 < below <= 1:
                raise ValueError(f"a tier's below ratio must lie in (0, 1], got {below}")
            if not 0 <= credit <= 1:
                raise ValueError(f"a tier's credit ratio must lie in [0, 1], got {credit}")
        for (upper, less), (lower, more) in zip(self.tiers, self.tiers[1:], strict=False):
            if lower >= upper:
                raise ValueError(f"tiers must be by falling below ratio, got {upper} then {lower}")
            if more < less:
                raise ValueError(f"the credit must not fall as below falls: {less} then {more}")


NO_CREDITS = CreditPolicy()


@dataclass(frozen=True, slots=True)
class HeartbeatPolicy:
    """Alerts matching `matchers` are the heartbeat; none for longer than `interval` is
    blind time."""

    matchers: CompiledMatchers
    interval: timedelta


@dataclass(frozen=True, slots=True)
class ServicePolicy:
    name: str
    target_ratio: float
    timezone: ZoneInfo
    unknown_policy: str = "up"  # "up" | "down" | "excluded": how blind time counts
    credits: CreditPolicy = NO_CREDITS


@dataclass(frozen=True, slots=True)
class RuleFile:
    """Everything a rule file decides, ready to use."""

    source: str
    spec: RuleFileSpec
    ruleset: RuleSet
    timezone: ZoneInfo
    levels: Mapping[str, Level]
    priorities: Mapping[str, PriorityPolicy]
    calendars: Mapping[str, Calendar]
    escalation: Mapping[str, tuple[EscalationStep, ...]]
    contacts: Mapping[str, ContactSpec]
    services: Mapping[str, ServicePolicy]
    maintenance: tuple[MaintenanceSpec, ...]
    default_target_ratio: float
    reopen_window: timedelta
    degraded_weight: float
    # The YAML the rule file was compiled from, and its SHA-256 (hex): what a closed
    # month records as the policy its figures were computed under.
    text: str = ""
    digest: str = ""
    heartbeat: HeartbeatPolicy | None = None
    default_unknown_policy: str = "up"
    default_credits: CreditPolicy = NO_CREDITS

    def service(self, name: str) -> ServicePolicy:
        """The policy of a listed service, or the defaults for one only seen in labels."""
        listed = self.services.get(name)
        if listed is not None:
            return listed
        return ServicePolicy(
            name,
            self.default_target_ratio,
            self.timezone,
            self.default_unknown_policy,
            self.default_credits,
        )


def compile_rule_file(
    spec: RuleFileSpec, *, source: str, default_timezone: str, text: str = ""
) -> RuleFile:
    """Build a `RuleFile` from a spec whose references `rules.loader` has checked."""
    timezone = ZoneInfo(spec.timezone or default_timezone)
    calendars: dict[str, Calendar] = {"24x7": ALWAYS}
    for name, calendar_spec in spec.calendars.items():
        calendars[name] = _calendar(name, calendar_spec, timezone)
    business = (
        calendars[spec.business_calendar]
        if spec.business_calendar is not None
        else _calendar("business", CalendarSpec(), timezone)
    )
    priorities = _priorities(spec, calendars, business)
    default_credits = _credits(spec.credits)
    return RuleFile(
        source=source,
        spec=spec,
        ruleset=_ruleset(spec),
        timezone=timezone,
        levels={
            name: Level(name, rank, tuple(level.notify), level.open_incident)
            for rank, (name, level) in enumerate(spec.levels.items())
        },
        priorities=priorities,
        calendars=calendars,
        escalation=_escalation(spec, priorities, business),
        contacts=dict(spec.contacts),
        services={
            service.name: ServicePolicy(
                service.name,
                _ratio(service.target if service.target is not None else spec.defaults.target),
                ZoneInfo(service.timezone) if service.timezone else timezone,
                service.unknown or spec.defaults.unknown,
                _credits(service.credits) if service.credits is not None else default_credits,
            )
            for service in spec.services
        },
        maintenance=tuple(spec.maintenance),
        default_target_ratio=_ratio(spec.defaults.target),
        reopen_window=_wall_clock(spec.defaults.reopen_window),
        degraded_weight=spec.defaults.degraded_weight,
        text=text,
        digest=hashlib.sha256(text.encode()).hexdigest(),
        heartbeat=_heartbeat(spec.heartbeat),
        default_unknown_policy=spec.defaults.unknown,
        default_credits=default_credits,
    )


def _credits(spec: CreditsSpec | None) -> CreditPolicy:
    """The credit tiers as ratios, highest `below` first; none without a `credits` section."""
    if spec is None:
        return NO_CREDITS
    tiers = sorted(((_ratio(t.below), _ratio(t.credit)) for t in spec.tiers), reverse=True)
    return CreditPolicy(tuple(tiers), _ratio(spec.max) if spec.max is not None else 1.0)


def _heartbeat(spec: HeartbeatSpec | None) -> HeartbeatPolicy | None:
    if spec is None:
        return None
    return HeartbeatPolicy(CompiledMatchers(tuple(spec.matchers)), spec.interval.value)


def _target(duration: Duration, calendar: Calendar, business: Calendar) -> SlaTarget:
    """A target on `calendar`, or on the business calendar when given in business days."""
    if duration.business_days is None:
        return SlaTarget(duration, duration.value, calendar)
    assert isinstance(business, BusinessCalendar)
    return SlaTarget(duration, duration.business_days * business.day_length, business)


def _priorities(
    spec: RuleFileSpec, calendars: dict[str, Calendar], business: Calendar
) -> dict[str, PriorityPolicy]:
    priorities = {}
    for rank, (name, priority) in enumerate(spec.priorities.items()):
        calendar = calendars[priority.calendar or "24x7"]
        priorities[name] = PriorityPolicy(
            name=name,
            rank=rank,
            respond=_target(priority.respond, calendar, business),
            resolve=_target(priority.resolve, calendar, business),
            resolution_from=priority.resolution_from,
        )
    return priorities


def _escalation(
    spec: RuleFileSpec, priorities: dict[str, PriorityPolicy], business: Calendar
) -> dict[str, tuple[EscalationStep, ...]]:
    return {
        name: tuple(
            EscalationStep(
                index=index,
                after=_target(step.after, priorities[name].respond.calendar, business),
                notify=tuple(step.notify),
                unless=step.unless,
            )
            for index, step in enumerate(steps)
        )
        for name, steps in spec.escalation.items()
    }


def _ratio(percent: float) -> float:
    # Through decimal, so that 99.9 % is 0.999 and not 0.9990000000000001.
    return float(Decimal(repr(percent)) / 100)


def _wall_clock(duration: Duration) -> timedelta:
    if duration.business_days is not None:
        return duration.business_days * timedelta(days=1)
    return duration.value


def _calendar(name: str, spec: CalendarSpec, timezone: ZoneInfo) -> BusinessCalendar:
    opens, closes = parse_hours(spec.hours)
    country = (
        holiday_tables.country_holidays(spec.country, subdiv=spec.subdivision)
        if spec.country
        else None
    )
    return BusinessCalendar(
        name=name,
        timezone=ZoneInfo(spec.timezone) if spec.timezone else timezone,
        weekdays=frozenset(_WEEKDAY_NUMBERS[day] for day in spec.weekdays),
        opens=opens,
        closes=closes,
        holidays=frozenset(spec.holidays),
        country_holidays=country,
    )


def _ruleset(spec: RuleFileSpec) -> RuleSet:
    defaults = spec.defaults
    default_title = TitleTemplate(defaults.title)
    default_outcome = Outcome(
        rule=None,
        level=defaults.level,
        priority=defaults.priority,
        category=defaults.category,
        impact=defaults.impact,
        group_by=tuple(defaults.group_by),
        title=default_title,
    )
    rules = [
        (
            CompiledMatchers(tuple(rule.matchers)),
            Outcome(
                rule=rule.name or f"rules[{index}]",
                level=rule.level or defaults.level,
                priority=rule.priority or defaults.priority,
                category=rule.category or defaults.category,
                impact=rule.impact or defaults.impact,
                group_by=tuple(rule.group_by if rule.group_by is not None else defaults.group_by),
                title=TitleTemplate(rule.title) if rule.title is not None else default_title,
            ),
        )
        for index, rule in enumerate(spec.rules)
    ]
    services = [
        (
            CompiledMatchers(
                tuple(service.matchers)
                if service.matchers is not None
                else (Matcher("service", MatchOp.EQUAL, service.name),)
            ),
            service.name,
        )
        for service in spec.services
    ]
    return RuleSet(
        services=services,
        service_labels=defaults.service_labels,
        default_service=defaults.service,
        rules=rules,
        default_outcome=default_outcome,
    )
