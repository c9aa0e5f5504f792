"""Who is on call, and changing rotations and overrides, applied and audited in one
transaction: the API's routes and the console's forms both call these."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session, sessionmaker

from access.audit import Caller, record
from core.bounds import Instant, StorableText
from core.database import writing_session
from core.wire import rfc3339
from oncall.models import RotationOverride, StoredRotation
from oncall.roster import UnknownCalendar, build_rotation
from oncall.rotation import Turn, on_call
from oncall.store import RotationEntry, active_people, overrides_between, rotation_entries
from rules.policy import RuleFile
from rules.reaching import RotationSpec, Username
from rules.reloading import ActiveRules

__all__ = [
    "InvalidOverride",
    "OncallDesk",
    "OverrideBody",
    "OverrideNotFound",
    "RotationNotStored",
    "RotationNow",
    "UnknownPerson",
    "UnknownRotation",
    "add_override",
    "delete_override",
    "delete_rotation",
    "override_resource",
    "rotation_resource",
    "save_rotation",
    "turn_resource",
    "who_is_on_call",
]

# An override is for covering a shift, a holiday or a week of illness, not for ever.
LONGEST_OVERRIDE = timedelta(days=366)


class UnknownRotation(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no rotation named {name!r}")


class RotationNotStored(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"rotation {name!r} was not made through the API (the rule file's stays)")


class OverrideNotFound(LookupError):
    def __init__(self, override_id: int) -> None:
        super().__init__(f"no override {override_id} of this rotation")


class UnknownPerson(ValueError):
    def __init__(self, names: Sequence[str]) -> None:
        super().__init__(f"no active person named {', '.join(repr(n) for n in names)}")


class InvalidOverride(ValueError):
    """An override that cannot be: ending before it starts, or longer than a year."""


@dataclass(frozen=True, slots=True)
class OncallDesk:
    """What on-call reads and writes are bound to: database, rules and clock."""

    engine: Engine
    sessions: sessionmaker[Session]
    rules: ActiveRules
    clock: Callable[[], datetime]


class OverrideBody(BaseModel):
    """`person` covers the rotation from `start` to `end`."""

    model_config = ConfigDict(extra="forbid")

    person: Username
    start: Instant
    end: Instant
    reason: Annotated[StorableText, Field(max_length=2000)] = ""


@dataclass(frozen=True, slots=True)
class RotationNow:
    """A rotation at an instant: who is on call, the turns after, and what is wrong with it
    (a participant without an active account, a calendar the rule file lost)."""

    entry: RotationEntry
    zone: str
    current: Turn | None
    upcoming: tuple[Turn, ...]
    problems: tuple[str, ...]

    def resource(self) -> dict[str, Any]:
        return {
            "rotation": self.entry.name,
            "source": self.entry.source,
            "timezone": self.zone,
            "current": turn_resource(self.current) if self.current else None,
            "upcoming": [turn_resource(turn) for turn in self.upcoming],
            "problems": list(self.problems),
        }


def turn_resource(turn: Turn) -> dict[str, Any]:
    return {
        "person": turn.person,
        "start": rfc3339(turn.start),
        "end": rfc3339(turn.end),
        "layer": turn.layer,
        "override": turn.override,
    }


def rotation_resource(entry: RotationEntry) -> dict[str, Any]:
    return {
        "name": entry.name,
        "source": entry.source,
        **entry.spec.model_dump(mode="json"),
        "updated_by": entry.updated_by,
        "updated_at": rfc3339(entry.updated_at),
    }


def who_is_on_call(
    session: Session,
    *,
    rules: RuleFile,
    at: datetime,
    horizon: timedelta = timedelta(days=7),
    names: Sequence[str] | None = None,
) -> list[RotationNow]:
    """Each rotation (or those in `names`) at `at`: who is on call and the turns within
    `horizon` after it."""
    entries = rotation_entries(session, rules)
    chosen = [
        entries[name] for name in (names if names is not None else entries) if name in entries
    ]
    overrides = overrides_between(
        session, [entry.name for entry in chosen], at - timedelta(days=8), at + horizon
    )
    people = active_people(
        session, [p for entry in chosen for layer in entry.spec.layers for p in layer.participants]
    )
    found = []
    for entry in chosen:
        problems = [
            f"{person!r} has no active account"
            for person in dict.fromkeys(
                p for layer in entry.spec.layers for p in layer.participants
            )
            if person not in people
        ]
        try:
            rotation = build_rotation(entry.name, entry.spec, rules)
        except UnknownCalendar as error:
            found.append(RotationNow(entry, entry.spec.timezone or "", None, (), (str(error),)))
            continue
        now = on_call(rotation, overrides[entry.name], at, horizon=horizon)
        found.append(
            RotationNow(entry, str(rotation.zone), now.current, now.upcoming, tuple(problems))
        )
    return found


def save_rotation(
    desk: OncallDesk, caller: Caller, name: str, spec: RotationSpec
) -> tuple[dict[str, Any], bool]:
    """Create or replace the API's rotation `name`; its resource, and whether it is new."""
    rules = desk.rules.current
    build_rotation(name, spec, rules)  # UnknownCalendar: 422
    now = desk.clock()
    with writing_session(desk.engine) as session:
        participants = [p for layer in spec.layers for p in layer.participants]
        missing = sorted(set(participants) - set(active_people(session, participants)))
        if missing:
            raise UnknownPerson(missing)
        stored = session.get(StoredRotation, name, with_for_update=True)
        before = dict(stored.definition) if stored is not None else None
        definition = spec.model_dump(mode="json")
        if stored is None:
            session.add(
                StoredRotation(
                    name=name,
                    definition=definition,
                    updated_at=now,
                    updated_by=caller.principal.name,
                )
            )
        else:
            stored.definition, stored.updated_at = definition, now
            stored.updated_by = caller.principal.name
        record(
            session,
            caller,
            action="rotation.save",
            at=now,
            target=f"rotation:{name}",
            before=before,
            after=definition,
        )
    entry = RotationEntry(name, spec, "api", caller.principal.name, now)
    return rotation_resource(entry), before is None


def delete_rotation(desk: OncallDesk, caller: Caller, name: str) -> dict[str, Any]:
    """Remove the API's rotation `name` (the rule file's of that name, if any, is back)."""
    now = desk.clock()
    with writing_session(desk.engine) as session:
        stored = session.get(StoredRotation, name, with_for_update=True)
        if stored is None:
            raise RotationNotStored(name)
        before = dict(stored.definition)
        session.execute(delete(StoredRotation).where(StoredRotation.name == name))
        record(
            session,
            caller,
            action="rotation.delete",
            at=now,
            target=f"rotation:{name}",
            before=before,
            after=None,
        )
    return {"name": name, "deleted": True, "deleted_by": caller.principal.name}


def add_override(
    desk: OncallDesk, caller: Caller, rotation: str, body: OverrideBody
) -> dict[str, Any]:
    """`body.person` covers `rotation` over [start, end)."""
    if body.end <= body.start:
        raise InvalidOverride("end must be after start")
    if body.end - body.start > LONGEST_OVERRIDE:
        raise InvalidOverride("an override lasts at most 366 days")
    now = desk.clock()
    with writing_session(desk.engine) as session:
        if rotation not in rotation_entries(session, desk.rules.current):
            raise UnknownRotation(rotation)
        if not active_people(session, [body.person]):
            raise UnknownPerson([body.person])
        row = RotationOverride(
            rotation=rotation,
            person=body.person,
            start_at=body.start,
            end_at=body.end,
            reason=body.reason,
            created_at=now,
            created_by=caller.principal.name,
        )
        session.add(row)
        session.flush()
        fields = override_resource(row)
        record(
            session,
            caller,
            action="override.create",
            at=now,
            target=f"override:{row.id}",
            after=fields,
        )
    return fields


def delete_override(
    desk: OncallDesk, caller: Caller, rotation: str, override_id: int
) -> dict[str, Any]:
    """Delete an override (the row stays, marked deleted, for the record)."""
    now = desk.clock()
    with writing_session(desk.engine) as session:
        row = session.get(RotationOverride, override_id, with_for_update=True)
        if row is None or row.rotation != rotation or row.deleted_at is not None:
            raise OverrideNotFound(override_id)
        row.deleted_at, row.deleted_by = now, caller.principal.name
        record(
            session,
            caller,
            action="override.delete",
            at=now,
            target=f"override:{override_id}",
            before={"deleted": False},
            after={"deleted": True},
        )
    return {"id": override_id, "deleted": True, "deleted_by": caller.principal.name}


def override_resource(row: RotationOverride) -> dict[str, Any]:
    return {
        "id": row.id,
        "rotation": row.rotation,
        "person": row.person,
        "start": rfc3339(row.start_at),
        "end": rfc3339(row.end_at),
        "reason": row.reason,
        "created_by": row.created_by,
        "created_at": rfc3339(row.created_at),
    }
