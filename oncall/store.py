"""Reading and writing rotations and overrides (SQL); the rule file's rotations are read from
the rule file, the API's from the `rotations` table, which wins on a shared name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from access.models import Account
from access.roles import Kind
from oncall.models import RotationOverride, StoredRotation
from oncall.rotation import Override
from rules.policy import RuleFile
from rules.reaching import RotationSpec

__all__ = [
    "RotationEntry",
    "active_people",
    "override_rows",
    "overrides_between",
    "rotation_entries",
]


@dataclass(frozen=True, slots=True)
class RotationEntry:
    """A rotation and where it is defined: `rules` (the rule file) or `api`."""

    name: str
    spec: RotationSpec
    source: str
    updated_by: str | None = None
    updated_at: datetime | None = None


def rotation_entries(session: Session, rules: RuleFile) -> dict[str, RotationEntry]:
    """Every rotation by name: the rule file's, replaced by the API's of the same name."""
    entries = {
        name: RotationEntry(name, spec, "rules") for name, spec in rules.spec.rotations.items()
    }
    for stored in session.scalars(select(StoredRotation).order_by(StoredRotation.name)):
        try:
            spec = RotationSpec.model_validate(stored.definition)
        except ValidationError:
            continue  # written by a later version; that version reads it
        entries[stored.name] = RotationEntry(
            stored.name, spec, "api", stored.updated_by, stored.updated_at
        )
    return dict(sorted(entries.items()))


def override_rows(
    session: Session, rotations: Sequence[str], start: datetime, end: datetime
) -> list[RotationOverride]:
    """The overrides of `rotations` that are not deleted and overlap [start, end)."""
    if not rotations:
        return []
    return list(
        session.scalars(
            select(RotationOverride)
            .where(RotationOverride.rotation.in_(rotations))
            .where(RotationOverride.deleted_at.is_(None))
            .where(RotationOverride.end_at > start)
            .where(RotationOverride.start_at < end)
            .order_by(RotationOverride.start_at, RotationOverride.id)
        )
    )


def overrides_between(
    session: Session, rotations: Sequence[str], start: datetime, end: datetime
) -> dict[str, list[Override]]:
    """`override_rows` as the computation takes them, by rotation."""
    found: dict[str, list[Override]] = {name: [] for name in rotations}
    for row in override_rows(session, rotations, start, end):
        found[row.rotation].append(Override(row.person, row.start_at, row.end_at, row.id))
    return found


def active_people(session: Session, usernames: Sequence[str]) -> dict[str, Account]:
    """The active person accounts among `usernames`, by username."""
    if not usernames:
        return {}
    rows = session.scalars(
        select(Account)
        .where(Account.username.in_(sorted(set(usernames))))
        .where(Account.kind == Kind.PERSON.value)
        .where(Account.active.is_(True))
    )
    return {account.username: account for account in rows}
