"""The incident timeline: entries written in one statement, values made JSON-ready."""

from __future__ import annotations

import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

from core.database import insert_many
from core.wire import json_values
from incident.models import IncidentEvent

__all__ = ["NewEvent", "add_events"]

_EVENTS = typing.cast(Table, IncidentEvent.__table__)


@dataclass(frozen=True, slots=True)
class NewEvent:
    """A timeline entry to write."""

    incident_id: int
    at: datetime
    actor: str
    kind: str
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    note: str | None = None
    via: str | None = None


def add_events(session: Session, events: Sequence[NewEvent]) -> None:
    """Write timeline entries in one statement."""
    if not events:
        return
    insert_many(
        session,
        _EVENTS,
        [
            {
                "incident_id": event.incident_id,
                "at": event.at,
                "actor": event.actor,
                "via": event.via,
                "kind": event.kind,
                "before": json_values(event.before),
                "after": json_values(event.after),
                "note": event.note,
            }
            for event in events
        ],
    )
