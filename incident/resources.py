"""What the incident routes answer: the documented shapes of incidents and their timelines.

The models document the bodies in `/openapi.json`; routes render the dicts of
`incident.store.incident_fields` and `event_resource` with orjson (the list is a hot path).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from collector.resources import AlertResource
from core.wire import rfc3339
from incident.lifecycle import State
from incident.models import IncidentEvent
from rules.schema import Category, Impact

__all__ = [
    "EventResource",
    "IncidentDetailResource",
    "IncidentPage",
    "IncidentResource",
    "NoteResource",
    "event_resource",
]


class IncidentResource(BaseModel):
    """One incident with its SLA clocks; `*_seconds` are measured on the SLA calendar."""

    id: int
    title: str
    service: str
    priority: str
    level: str | None
    category: Category
    impact: Impact
    state: State
    source: Literal["alert", "manual"]
    group_key: str | None
    started_at: datetime
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    closed_at: datetime | None
    closed_by: str | None
    reporter: str | None
    channel: str | None
    response_due_at: datetime | None
    resolution_due_at: datetime | None
    response_breached: bool
    resolution_breached: bool
    response_seconds: float | None
    resolution_seconds: float | None
    alert_count: int
    flap_count: int


class IncidentPage(BaseModel):
    """A page of incidents, newest first; `next_cursor` continues it."""

    items: list[IncidentResource]
    next_cursor: str | None


class EventResource(BaseModel):
    """One entry of an incident's timeline: who changed what, from what to what."""

    id: int
    at: datetime
    actor: str
    via: str | None = Field(description="the service account that relayed the actor's action")
    kind: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    note: str | None


class IncidentDetailResource(IncidentResource):
    """An incident with its alerts and its timeline, oldest event first."""

    alerts: list[AlertResource]
    timeline: list[EventResource]


class NoteResource(BaseModel):
    """A note added to an incident's timeline."""

    incident_id: int
    actor: str
    via: str | None
    note: str


def event_resource(event: IncidentEvent) -> dict[str, Any]:
    """A timeline entry as the API shows it (`EventResource`)."""
    return {
        "id": event.id,
        "at": rfc3339(event.at),
        "actor": event.actor,
        "via": event.via,
        "kind": event.kind,
        "before": event.before,
        "after": event.after,
        "note": event.note,
    }
