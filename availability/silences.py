"""Maintenance as Alertmanager silences: what each occurrence of the day ahead needs.

Pure: the caller reads the windows (each with its occurrences over `silence_horizon(now)`),
the rule file's service matchers and the stored silences; `plan_silences` says what to
create, update or expire, and `availability.silencing` does it.

An occurrence is named by its window and its start: `api/<id>/<start>` for a window planned
through the API, `rule/<hash>/<start>` for one of the rule file, the hash taken over the
window's service, its schedule (cron, or start) and its rank among the file's windows with
the same two. So editing a rule file window's end, duration or reason updates its silences,
while moving its start or cron is a new occurrence (and the old one's silence is expired).

What Alertmanager 0.25 does, checked against the real binary: it refuses a silence whose end
is past, or whose matchers all match the empty string, but counts `!=` and `!~` as never
matching it (later versions do not), so `env!="test"` alone would silence nearly every alert
of the installation: slakeeper refuses every silence without a matcher that cannot match the
empty string. A silence updated with other matchers, or with another start while active, is
replaced (a new id, the old one expired) rather than changed in place; expiring one expired
already answers 200, and one it does not know 500.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from availability.maintenance import MaintenanceDefinition, Origin
from core.wire import rfc3339
from rules.matchers import Matcher, MatchOp
from rules.policy import RuleFile

__all__ = [
    "CREATED_BY",
    "HORIZON",
    "Action",
    "PlannedSilence",
    "SilenceDecision",
    "SilenceRecord",
    "SilenceState",
    "WindowOccurrences",
    "matchers_text",
    "occurrence_key",
    "plan_silences",
    "service_matchers",
    "silence_horizon",
    "window_key_of",
    "window_keys",
]

HORIZON = timedelta(hours=24)
"""How far ahead an occurrence gets its silence: Alertmanager shows it as pending meanwhile."""
CREATED_BY = "slakeeper"

_OPS = list(MatchOp)
# Alertmanager's matcher flags for each of the rule file's operators.
_FLAGS = {
    MatchOp.EQUAL: (False, True),
    MatchOp.NOT_EQUAL: (False, False),
    MatchOp.REGEX: (True, True),
    MatchOp.NOT_REGEX: (True, False),
}


class SilenceState(StrEnum):
    # To create or update. Runs do not leave rows so (a lost answer is found in Alertmanager's
    # list instead); one found so is taken for an attempt whose answer was lost.
    PENDING = "pending"
    ACTIVE = "active"  # Alertmanager holds it (pending there until the occurrence starts)
    EXPIRED = "expired"  # its window was deleted or edited away, and the silence expired
    FAILED = "failed"  # the last attempt failed: retried at the next run


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    EXPIRE = "expire"
    REFUSE = "refuse"  # Alertmanager would refuse it: recorded as failed, nothing sent


def silence_horizon(now: datetime) -> tuple[datetime, datetime]:
    """The period whose occurrences get a silence: from now, a day ahead."""
    return now, now + HORIZON


def window_keys(definitions: Sequence[MaintenanceDefinition]) -> list[str]:
    """Each window's name in its occurrences' keys: `api/<id>`, or `rule/<hash>`."""
    ranks: Counter[tuple[str, str]] = Counter()
    keys = []
    for definition in definitions:
        if definition.origin is Origin.API:
            keys.append(window_key_of(definition, 0))
            continue
        schedule = (definition.service, _schedule(definition))
        keys.append(window_key_of(definition, ranks[schedule]))
        ranks[schedule] += 1
    return keys


def window_key_of(definition: MaintenanceDefinition, rank: int) -> str:
    """`api/<id>`, or for the rule file's `rank`-th window of its service and schedule,
    `rule/<hash>`."""
    if definition.origin is Origin.API:
        if definition.id is None:
            raise ValueError("a window planned through the API needs its id")
        return f"api/{definition.id}"
    named = f"{definition.service}\n{_schedule(definition)}\n{rank}".encode()
    return f"rule/{hashlib.sha256(named).hexdigest()[:16]}"


def _schedule(definition: MaintenanceDefinition) -> str:
    return definition.cron if definition.cron is not None else str(rfc3339(definition.start))


def occurrence_key(window_key: str, start: datetime) -> str:
    """The key of the occurrence of `window_key` that starts at `start`."""
    return f"{window_key}/{rfc3339(start)}"


def service_matchers(rules: RuleFile) -> dict[str, tuple[Matcher, ...]]:
    """The matchers that say an alert is the service's, for each listed service: its own,
    or `service="<name>"` when it has none (as `rules.policy` classifies)."""
    return {
        service.name: tuple(service.matchers)
        if service.matchers is not None
        else _by_name(service.name)
        for service in rules.spec.services
    }


def _by_name(service: str) -> tuple[Matcher, ...]:
    return (Matcher("service", MatchOp.EQUAL, service),)


def _canonical(matchers: Iterable[Matcher]) -> tuple[Matcher, ...]:
    # One order whatever the rule file's: reordering them changes no silence.
    return tuple(sorted(matchers, key=lambda m: (m.name, _OPS.index(m.op), m.value)))


def matchers_text(matchers: Iterable[tuple[str, MatchOp, str]]) -> str:
    """Matchers as stored and shown: sorted, in Alertmanager's syntax, comma separated."""
    return ", ".join(
        f'{name}{op}"{_escaped(value)}"'
        for name, op, value in sorted(matchers, key=lambda m: (m[0], _OPS.index(m[1]), m[2]))
    )


def _escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@dataclass(frozen=True, slots=True)
class WindowOccurrences:
    """A window, its key (`window_keys`) and its occurrences in the silence horizon."""

    definition: MaintenanceDefinition
    key: str
    occurrences: tuple[tuple[datetime, datetime], ...]


@dataclass(frozen=True, slots=True)
class PlannedSilence:
    """The silence one occurrence asks Alertmanager for."""

    occurrence: str
    service: str
    window_id: int | None
    starts_at: datetime
    ends_at: datetime
    matchers: tuple[Matcher, ...]
    comment: str

    @property
    def matchers_text(self) -> str:
        return matchers_text((m.name, m.op, m.value) for m in self.matchers)

    def problem(self) -> str | None:
        """Why Alertmanager would refuse this silence, if it would."""
        if any(not matcher.matches({}) for matcher in self.matchers):
            return None
        return (
            f"the matchers of service {self.service!r} ({self.matchers_text or 'none'}) all "
            "match the empty string, and Alertmanager silences only with a matcher that does "
            'not: give the service a matcher such as service="<name>" in the rule file'
        )

    def body(self, silence_id: str | None = None) -> dict[str, Any]:
        """The silence as `POST /api/v2/silences` takes it; with `silence_id`, an update."""
        body: dict[str, Any] = {
            "matchers": [
                {
                    "name": matcher.name,
                    "value": matcher.value,
                    "isRegex": _FLAGS[matcher.op][0],
                    "isEqual": _FLAGS[matcher.op][1],
                }
                for matcher in self.matchers
            ],
            "startsAt": rfc3339(self.starts_at),
            "endsAt": rfc3339(self.ends_at),
            "createdBy": CREATED_BY,
            "comment": self.comment,
        }
        if silence_id is not None:
            body["id"] = silence_id
        return body


@dataclass(frozen=True, slots=True)
class SilenceRecord:
    """A stored silence (a row of `maintenance_silences`): what was last asked for, and how
    it went. `attempts` counts failed attempts since the last success."""

    occurrence: str
    service: str
    window_id: int | None
    starts_at: datetime
    ends_at: datetime
    matchers: str
    comment: str
    silence_id: str | None
    state: SilenceState
    attempts: int = 0
    last_error: str | None = None
    updated_at: datetime | None = None

    @classmethod
    def of(cls, planned: PlannedSilence, state: SilenceState) -> SilenceRecord:
        return cls(
            occurrence=planned.occurrence,
            service=planned.service,
            window_id=planned.window_id,
            starts_at=planned.starts_at,
            ends_at=planned.ends_at,
            matchers=planned.matchers_text,
            comment=planned.comment,
            silence_id=None,
            state=state,
        )

    def changes(self, planned: PlannedSilence) -> list[str]:
        """What `planned` asks for that this silence does not have."""
        differs = {
            "matchers": self.matchers != planned.matchers_text,
            "times": (self.starts_at, self.ends_at) != (planned.starts_at, planned.ends_at),
            "comment": self.comment != planned.comment,
        }
        return [name for name, changed in differs.items() if changed]

    @property
    def may_be_unseen(self) -> bool:
        """Whether a failed attempt may have set a silence all the same (its answer lost)."""
        return self.attempts > 0 or self.state is SilenceState.PENDING


@dataclass(frozen=True, slots=True)
class SilenceDecision:
    """What to do for one occurrence, and why; `planned` is what it asks for (not for
    `EXPIRE`), `record` what is stored (None for a new one)."""

    action: Action
    occurrence: str
    why: str
    planned: PlannedSilence | None = None
    record: SilenceRecord | None = None

    def succeeded(self, silence_id: str | None) -> SilenceRecord:
        """The record to store once Alertmanager did it (for `REFUSE`: once nothing of ours
        is left in Alertmanager)."""
        if self.action is Action.EXPIRE:
            assert self.record is not None
            return replace(self.record, state=SilenceState.EXPIRED, attempts=0, last_error=None)
        assert self.planned is not None
        if self.action is Action.REFUSE:
            return replace(SilenceRecord.of(self.planned, SilenceState.FAILED), last_error=self.why)
        return replace(SilenceRecord.of(self.planned, SilenceState.ACTIVE), silence_id=silence_id)

    def failed(self, error: str) -> SilenceRecord:
        """The record to store when the attempt failed with `error`: retried next run."""
        attempts = (self.record.attempts if self.record is not None else 0) + 1
        silence_id = self.record.silence_id if self.record is not None else None
        if self.planned is None:
            assert self.record is not None
            base = self.record
        else:
            base = SilenceRecord.of(self.planned, SilenceState.FAILED)
        return replace(
            base,
            state=SilenceState.FAILED,
            silence_id=silence_id,
            attempts=attempts,
            last_error=error,
        )


def plan_silences(
    windows: Sequence[WindowOccurrences],
    *,
    matchers: Mapping[str, tuple[Matcher, ...]],
    records: Sequence[SilenceRecord],
    now: datetime,
) -> list[SilenceDecision]:
    """What to do so that every occurrence overlapping [now, now + HORIZON) has its silence
    and no other stored silence is live; an occurrence that ended needs nothing.

    `matchers`: each listed service's (`service_matchers`); others get `service="<name>"`.
    """
    wanted = {planned.occurrence: planned for planned in _wanted(windows, matchers, now=now)}
    stored = {record.occurrence: record for record in records}
    decisions = [
        decision
        for key, planned in wanted.items()
        if (decision := _for_wanted(planned, stored.get(key))) is not None
    ]
    decisions.extend(
        decision
        for key, record in stored.items()
        if key not in wanted and (decision := _for_unwanted(record, now)) is not None
    )
    return sorted(decisions, key=lambda decision: decision.occurrence)


def _wanted(
    windows: Sequence[WindowOccurrences],
    matchers: Mapping[str, tuple[Matcher, ...]],
    *,
    now: datetime,
) -> Iterable[PlannedSilence]:
    horizon_start, horizon_end = silence_horizon(now)
    for window in windows:
        definition = window.definition
        selecting = matchers.get(definition.service) or _by_name(definition.service)
        for start, end in window.occurrences:
            if end <= horizon_start or start >= horizon_end:
                continue
            yield PlannedSilence(
                occurrence=occurrence_key(window.key, start),
                service=definition.service,
                window_id=definition.id,
                starts_at=start.astimezone(UTC),
                ends_at=end.astimezone(UTC),
                matchers=_canonical(selecting),
                comment=_comment(window.key, definition.reason),
            )


def _comment(window_key: str, reason: str) -> str:
    # Says which window: an operator reading Alertmanager finds it in slakeeper.
    named = f"slakeeper maintenance {window_key}"
    return f"{named}: {reason}" if reason else named


def _for_wanted(planned: PlannedSilence, record: SilenceRecord | None) -> SilenceDecision | None:
    key = planned.occurrence
    problem = planned.problem()
    if problem is not None:
        if (
            record is not None
            and record.state is SilenceState.FAILED
            and record.last_error == problem
            and record.silence_id is None
            and not record.changes(planned)
        ):
            return None  # refused already, and nothing changed since
        return SilenceDecision(Action.REFUSE, key, problem, planned, record)
    if record is None:
        return SilenceDecision(Action.CREATE, key, "new occurrence", planned)
    set_action = Action.UPDATE if record.silence_id is not None else Action.CREATE
    if record.state in (SilenceState.FAILED, SilenceState.PENDING):
        return SilenceDecision(set_action, key, "retry", planned, record)
    if record.state is SilenceState.EXPIRED:
        return SilenceDecision(set_action, key, "wanted again", planned, record)
    changes = record.changes(planned)
    if record.silence_id is None or changes:
        why = f"changed: {', '.join(changes)}" if changes else "no silence id"
        return SilenceDecision(set_action, key, why, planned, record)
    return None


def _for_unwanted(record: SilenceRecord, now: datetime) -> SilenceDecision | None:
    if record.ends_at <= now or record.state is SilenceState.EXPIRED:
        return None  # Alertmanager expired it at its end; or it is expired already
    return SilenceDecision(Action.EXPIRE, record.occurrence, "window gone", record=record)
