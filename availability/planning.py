"""Planning and cancelling maintenance, applied and audited in one transaction: the API's
routes and the console's forms both call these."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from access.audit import Caller, record
from availability import service
from availability.resources import maintenance_resource
from core.bounds import Instant, ServiceName, StorableText
from core.database import writing_session
from rules.reloading import ActiveRules

__all__ = ["AvailabilityDesk", "MaintenanceBody", "cancel", "plan"]


Name = Annotated[StorableText, Field(min_length=1, max_length=200)]


class MaintenanceBody(BaseModel):
    """One-off (`start`, `end`) or recurring (`cron` + `duration`, in the service's zone)."""

    model_config = ConfigDict(extra="forbid")

    service: ServiceName
    start: Instant | None = None
    end: Instant | None = None
    cron: Annotated[StorableText, Field(max_length=200)] | None = Field(
        default=None, examples=["0 3 * * sun"]
    )
    duration: Annotated[StorableText, Field(max_length=64)] | None = Field(
        default=None, examples=["2h"]
    )
    reason: Annotated[StorableText, Field(max_length=2000)] = ""
    actor: Name | None = Field(
        default=None,
        description="not needed: the credential says who plans it (see the incident actions)",
    )


@dataclass(frozen=True, slots=True)
class AvailabilityDesk:
    """What the availability routes are bound to: database, rules and clock."""

    engine: Engine
    sessions: sessionmaker[Session]
    rules: ActiveRules
    clock: Callable[[], datetime]


def plan(desk: AvailabilityDesk, caller: Caller, body: MaintenanceBody) -> dict[str, Any]:
    """Store the window `body` plans, as the authenticated caller; its fields after."""
    acting = caller.acting(body.actor)
    definition = service.planned_window(body.model_dump(exclude={"actor"}, exclude_none=True))
    now = desk.clock()
    with writing_session(desk.engine) as session:
        stored = service.plan_maintenance(session, definition, actor=acting.actor, now=now)
        fields = maintenance_resource(stored)
        record(
            session,
            caller,
            action="maintenance.create",
            at=now,
            target=f"maintenance:{stored.id}",
            after=fields,
            acting=acting,
        )
    return fields


def cancel(
    desk: AvailabilityDesk, caller: Caller, window_id: int, claimed: str | None = None
) -> dict[str, Any]:
    """Delete the window `window_id` (MaintenanceWindowNotFound: 404)."""
    acting = caller.acting(claimed)
    now = desk.clock()
    with writing_session(desk.engine) as session:
        service.cancel_maintenance(session, window_id, actor=acting.actor, now=now)
        record(
            session,
            caller,
            action="maintenance.cancel",
            at=now,
            target=f"maintenance:{window_id}",
            before={"deleted": False},
            after={"deleted": True},
            acting=acting,
        )
    return {"id": window_id, "deleted": True, "deleted_by": acting.actor}
