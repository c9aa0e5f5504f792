"""The rule file's schema: what each section may hold, checked field by field.

References between sections (a rule's priority, a level's contacts, a priority's calendar)
are checked afterwards by `rules.loader`, which knows every section at once.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

import holidays
from croniter import croniter
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    model_validator,
)

from rules.calendars import parse_hours
from rules.durations import Duration, parse_duration
from rules.fields import TimeZoneName
from rules.matchers import Matcher, parse_matcher
from rules.reaching import ChannelSpec, ContactSpec, RotationSpec, expand_environment

__all__ = [
    "CalendarSpec",
    "Category",
    "ContactSpec",
    "CreditTierSpec",
    "CreditsSpec",
    "Defaults",
    "EscalationStepSpec",
    "HeartbeatSpec",
    "Impact",
    "LevelSpec",
    "MaintenanceSpec",
    "PrioritySpec",
    "ReportSpec",
    "RuleFileSpec",
    "RuleSpec",
    "ServiceSpec",
    "UnknownPolicy",
]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]*\Z")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Category(StrEnum):
    HARDWARE = "hardware"
    SOFTWARE = "software"
    NETWORK = "network"
    CONFIGURATION = "configuration"
    SECURITY = "security"
    OTHER = "other"


class Impact(StrEnum):
    """What an alert means for availability: `outage` is downtime, `degraded` is weighted."""

    OUTAGE = "outage"
    DEGRADED = "degraded"
    NONE = "none"


# Names of levels, priorities, contacts, services and calendars are stored in columns this wide.
NAME_MAX_LENGTH = 64


def _name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(
            f"invalid name {value!r}: expected letters, digits and _ . : / - "
            "(starting with a letter or digit)"
        )
    if len(value) > NAME_MAX_LENGTH:
        raise ValueError(f"invalid name {value[:20]!r}…: at most {NAME_MAX_LENGTH} characters")
    return value


def _label_name(value: str) -> str:
    if not _LABEL_NAME.match(value):
        raise ValueError(f"invalid label name {value!r}: expected [a-zA-Z_][a-zA-Z0-9_]*")
    return value


def _matcher(value: Any) -> Matcher:
    if isinstance(value, Matcher):
        return value
    if not isinstance(value, str):
        raise ValueError(
            f"expected a matcher string such as 'severity=\"critical\"', got {value!r}"
        )
    return parse_matcher(value)


def _duration(value: Any) -> Duration:
    if isinstance(value, Duration):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a duration such as 10m, 4h or 5bd, got {value!r}")
    return parse_duration(value)


def _percent(value: float) -> float:
    if not 0 < value < 100:
        raise ValueError(f"target must be a percentage between 0 and 100 (exclusive), got {value}")
    return value


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _hours(value: str) -> str:
    parse_hours(value)
    return value


def _weekday(value: str) -> str:
    lowered = value.lower()[:3] if isinstance(value, str) else value
    if lowered not in _WEEKDAYS:
        raise ValueError(f"invalid weekday {value!r}: expected one of {', '.join(_WEEKDAYS)}")
    return str(lowered)


def _cron(value: str) -> str:
    if not croniter.is_valid(value):
        raise ValueError(
            f"invalid cron expression {value!r}: expected five fields, e.g. 0 3 * * sun"
        )
    return value


Name = Annotated[str, AfterValidator(_name)]
LabelName = Annotated[str, AfterValidator(_label_name)]
MatcherField = Annotated[Matcher, PlainValidator(_matcher), PlainSerializer(str)]
DurationField = Annotated[Duration, PlainValidator(_duration), PlainSerializer(str)]
Percent = Annotated[float, AfterValidator(_percent)]
Names = Annotated[list[Name], BeforeValidator(_one_or_many)]
# How blind time counts for a service: as available (`up`), as downtime (`down`), or out of
# the measured time like maintenance (`excluded`).
UnknownPolicy = Literal["up", "down", "excluded"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Defaults(_Section):
    """What an alert gets when no rule (or no field of its rule) says otherwise."""

    level: Name = "warning"
    priority: Name = "P4"
    category: Category = Category.OTHER
    impact: Impact = Impact.NONE
    group_by: list[LabelName] = Field(default_factory=lambda: ["service", "alertname"])
    reopen_window: DurationField = parse_duration("10m")
    degraded_weight: float = Field(default=0.0, ge=0.0, le=1.0)
    target: Percent = 99.5
    service_labels: list[LabelName] = Field(default_factory=lambda: ["service", "job"])
    service: Name = "unknown"
    title: str = "{{ annotations.summary or labels.alertname }}"
    unknown: UnknownPolicy = "up"


def _credit_percent(value: float) -> float:
    if not 0 <= value <= 100:
        raise ValueError(f"expected a percentage from 0 to 100, got {value}")
    return value


def _below_percent(value: float) -> float:
    if not 0 < value <= 100:
        raise ValueError(f"expected an availability percentage above 0, at most 100, got {value}")
    return value


class CreditTierSpec(_Section):
    """Availability strictly `below` this percentage earns `credit` % of the monthly fee."""

    below: Annotated[float, AfterValidator(_below_percent)]
    credit: Annotated[float, AfterValidator(_credit_percent)]


class CreditsSpec(_Section):
    """Service credits: the tier of the lowest `below` the availability falls under, capped at
    `max` % (no cap when absent). The order of the tiers is checked by `rules.loader`."""

    tiers: list[CreditTierSpec] = Field(default_factory=list)
    max: Annotated[float, AfterValidator(_credit_percent)] | None = None


class HeartbeatSpec(_Section):
    """The always-firing alert (Alertmanager's Watchdog) that proves the alert path works:
    no receipt for longer than `interval` is blind time for every service."""

    matchers: list[MatcherField] = Field(min_length=1)
    interval: DurationField

    @model_validator(mode="after")
    def _wall_clock(self) -> HeartbeatSpec:
        if self.interval.is_business or self.interval.value.total_seconds() <= 0:
            raise ValueError("interval must be a positive wall-clock duration (not bd)")
        return self


class ServiceSpec(_Section):
    name: Name
    # Omitted: the alerts whose `service` label is the service's name.
    matchers: list[MatcherField] | None = None
    target: Percent | None = None
    timezone: TimeZoneName | None = None
    unknown: UnknownPolicy | None = None  # the file's `defaults.unknown` when omitted
    credits: CreditsSpec | None = None  # the file's `credits` when omitted


class LevelSpec(_Section):
    notify: Names = Field(default_factory=list)
    open_incident: bool = True


class RuleSpec(_Section):
    name: Name | None = None
    matchers: list[MatcherField] = Field(default_factory=list)
    level: Name | None = None
    priority: Name | None = None
    category: Category | None = None
    impact: Impact | None = None
    group_by: list[LabelName] | None = None
    title: str | None = None


class PrioritySpec(_Section):
    respond: DurationField
    resolve: DurationField
    calendar: Name | None = None
    resolution_from: Literal["opened", "acknowledged"] = "opened"


class CalendarSpec(_Section):
    weekdays: Annotated[list[str], AfterValidator(lambda days: [_weekday(d) for d in days])] = (
        Field(default_factory=lambda: list(_WEEKDAYS[:5]), min_length=1)
    )
    hours: Annotated[str, AfterValidator(_hours)] = "09:00-18:00"
    timezone: TimeZoneName | None = None
    holidays: list[date] = Field(default_factory=list)
    country: str | None = None
    subdivision: str | None = None

    @model_validator(mode="after")
    def _known_country(self) -> CalendarSpec:
        if self.country is None:
            if self.subdivision is not None:
                raise ValueError("a subdivision needs a country")
            return self
        supported = holidays.list_supported_countries()
        if self.country not in supported:
            raise ValueError(
                f"unknown country {self.country!r}: expected an ISO 3166 code the holidays "
                "package knows, e.g. CN, DE, US"
            )
        if self.subdivision is not None and self.subdivision not in supported[self.country]:
            known = ", ".join(supported[self.country]) or "none"
            raise ValueError(
                f"unknown subdivision {self.subdivision!r} of {self.country}; known: {known}"
            )
        return self


class EscalationStepSpec(_Section):
    after: DurationField
    notify: Names = Field(min_length=1)
    unless: Literal["resolved", "acknowledged"] = "resolved"


class MaintenanceSpec(_Section):
    """Planned downtime: one-off (`start`, `end`) or recurring (`cron`, `duration`)."""

    service: Name
    start: datetime | None = None
    end: datetime | None = None
    cron: Annotated[str, AfterValidator(_cron)] | None = None
    duration: DurationField | None = None
    reason: str = ""

    @model_validator(mode="after")
    def _one_form(self) -> MaintenanceSpec:
        one_off = self.start is not None or self.end is not None
        recurring = self.cron is not None or self.duration is not None
        if one_off == recurring:
            raise ValueError("give either start and end, or cron and duration")
        if one_off and (self.start is None or self.end is None):
            raise ValueError("a one-off window needs both start and end")
        if recurring and (self.cron is None or self.duration is None):
            raise ValueError("a recurring window needs both cron and duration")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("end must be after start")
        if self.duration is not None and (
            self.duration.is_business or self.duration.value.total_seconds() <= 0
        ):
            raise ValueError("duration must be a positive wall-clock duration (not bd)")
        return self


_MAILTO = re.compile(r"mailto:[^@\s]+@[^@\s]+\Z")
_WEB = re.compile(r"https?://[^\s/]+\S*\Z")


def _recipient(value: str) -> str:
    if not (_MAILTO.match(value) or _WEB.match(value)) or len(value) > 2000:
        shown = value if value.startswith("mailto:") else value.partition("?")[0][:60]
        raise ValueError(
            f"invalid recipient {shown!r}: expected mailto:ADDRESS or an http(s):// URL"
        )
    return value


def _crontab(value: str) -> str:
    if len(value.split()) != 5:
        raise ValueError(f"invalid schedule {value!r}: expected five cron fields, e.g. 0 9 3 * *")
    return _cron(value)


class ReportSpec(_Section):
    """Who gets the monthly report: on each close of a month, and on `schedule` (cron, in the
    rule file's time zone) the previous month's. `${NAME}` in a recipient is read from the
    environment (a webhook's token)."""

    recipients: Annotated[
        list[Annotated[str, AfterValidator(_recipient)]], BeforeValidator(expand_environment)
    ] = Field(default_factory=list, max_length=100)
    lang: Literal["en", "zh-CN"] = "en"
    schedule: Annotated[str, AfterValidator(_crontab)] | None = None
    attach: Literal["pdf", "html"] = "pdf"

    @model_validator(mode="after")
    def _once_each(self) -> ReportSpec:
        if len(set(self.recipients)) != len(self.recipients):
            raise ValueError("a recipient is listed twice")
        return self


def _default_levels() -> dict[str, LevelSpec]:
    return {
        "info": LevelSpec(open_incident=False),
        "warning": LevelSpec(),
        "critical": LevelSpec(),
    }


def _default_priorities() -> dict[str, PrioritySpec]:
    terms = {"P1": ("1h", "24h"), "P2": ("4h", "48h"), "P3": ("8h", "72h"), "P4": ("24h", "120h")}
    return {
        name: PrioritySpec(respond=parse_duration(respond), resolve=parse_duration(resolve))
        for name, (respond, resolve) in terms.items()
    }


class RuleFileSpec(_Section):
    """A whole rule file. Levels run from least to most severe; priorities from most urgent."""

    timezone: TimeZoneName | None = None
    business_calendar: Name | None = None
    defaults: Defaults = Field(default_factory=Defaults)
    services: list[ServiceSpec] = Field(default_factory=list)
    levels: dict[Name, LevelSpec] = Field(default_factory=_default_levels, min_length=1)
    rules: list[RuleSpec] = Field(default_factory=list)
    priorities: dict[Name, PrioritySpec] = Field(default_factory=_default_priorities, min_length=1)
    calendars: dict[Name, CalendarSpec] = Field(default_factory=dict)
    escalation: dict[Name, list[EscalationStepSpec]] = Field(default_factory=dict)
    contacts: dict[Name, ContactSpec] = Field(default_factory=dict)
    # `${NAME}` in a channel's settings is the environment variable NAME (secrets, tokens).
    channels: Annotated[dict[Name, ChannelSpec], BeforeValidator(expand_environment)] = Field(
        default_factory=dict
    )
    rotations: dict[Name, RotationSpec] = Field(default_factory=dict)
    maintenance: list[MaintenanceSpec] = Field(default_factory=list)
    heartbeat: HeartbeatSpec | None = None  # none: no heartbeat watching
    credits: CreditsSpec | None = None  # none: no service credits
    report: ReportSpec = Field(default_factory=ReportSpec)  # default: nobody
