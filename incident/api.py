"""`/api/v1/incidents`: list, show, report, and the lifecycle actions of NOC staff.

Routes parse, call `incident.service`, and map its errors: 404 unknown incident, 409 a state
change the incident's state does not allow, 422 a value the rule file does not know.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from collector.api import alert_resource
from core.bounds import MAX_ROW_ID, Instant, ServiceName, StorableText
from core.database import writing_session
from core.errors import ApiError
from core.security import require_token
from core.wire import InvalidCursor, decode_cursor, encode_cursor, rfc3339
from incident import service
from incident.lifecycle import InvalidTransition, State
from incident.models import Incident, IncidentEvent
from incident.queries import IncidentQuery, get_incident, list_incidents
from incident.store import count_alerts, incident_fields
from rules.reloading import ActiveRules
from rules.schema import NAME_MAX_LENGTH, Category, Impact

__all__ = ["create_router"]

_CURSOR_KIND = "i"
Name = Annotated[StorableText, Field(min_length=1, max_length=200)]
RuleName = Annotated[StorableText, Field(min_length=1, max_length=NAME_MAX_LENGTH)]
Note = Annotated[StorableText, Field(min_length=1, max_length=10_000)]
Title = Annotated[StorableText, Field(min_length=1, max_length=500)]
IncidentId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


class Channel(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    PORTAL = "portal"
    CHAT = "chat"
    OTHER = "other"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReportBody(_Body):
    """A manual incident; `started_at` is when the problem began, if earlier than now."""

    title: Title
    service: ServiceName
    priority: RuleName
    impact: Impact = Impact.NONE
    category: Category = Category.OTHER
    reporter: Name
    channel: Channel
    level: RuleName | None = None
    started_at: Instant | None = None
    actor: Name | None = Field(default=None, description="who entered it (default: reporter)")


class ActionBody(_Body):
    actor: Name = Field(description="who did it, for the timeline")
    note: Note | None = None


class CloseBody(ActionBody):
    confirmed_by: Name = Field(description="who confirmed the resolution")


class NoteBody(_Body):
    actor: Name
    note: Note


class ReclassifyBody(ActionBody):
    priority: RuleName | None = None
    category: Category | None = None
    impact: Impact | None = None
    service: ServiceName | None = None
    title: Title | None = None


def incident_resource(session: Session, incident: Incident) -> dict[str, Any]:
    """The incident with its alert count, read in `session`."""
    [alert_count] = count_alerts(session, [incident.id]).values()
    return incident_fields(incident, alert_count=alert_count)


def event_resource(event: IncidentEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": rfc3339(event.at),
        "actor": event.actor,
        "kind": event.kind,
        "before": event.before,
        "after": event.after,
        "note": event.note,
    }


def create_router(
    *,
    engine: Engine,
    sessions: sessionmaker[Session],
    rules: ActiveRules,
    clock: Callable[[], datetime],
    api_tokens: Sequence[str],
) -> APIRouter:
    """The incident routes; writes need an API token when API tokens are configured."""
    router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])
    writes = [Depends(require_token(api_tokens, "API"))]

    @contextmanager
    def change() -> Iterator[Session]:
        try:
            with writing_session(engine) as session:
                yield session
        except service.IncidentNotFound as error:
            raise ApiError(404, "not_found", str(error)) from None
        except InvalidTransition as error:
            raise ApiError(
                409,
                "invalid_transition",
                str(error),
                {"state": error.state.value, "action": error.action.value},
            ) from None
        except service.GroupAlreadyActive as error:
            raise ApiError(
                409, "group_active", str(error), {"active_id": error.active_id}
            ) from None
        except service.InvalidChange as error:
            raise ApiError(422, "invalid_value", str(error), {"field": error.field}) from None

    @router.get("", summary="Incidents, newest first")
    def get_incidents(
        state: Annotated[list[State], Query()] = [],  # noqa: B006 - FastAPI copies defaults
        priority: Annotated[list[str], Query()] = [],  # noqa: B006
        service_name: Annotated[str | None, Query(alias="service")] = None,
        source: Annotated[str | None, Query(pattern="^(alert|manual)$")] = None,
        level: Annotated[list[str], Query()] = [],  # noqa: B006
        category: Annotated[list[Category], Query()] = [],  # noqa: B006
        impact: Annotated[list[Impact], Query()] = [],  # noqa: B006
        breached: Annotated[
            bool | None, Query(description="only incidents that breached (true) or did not")
        ] = None,
        since: Instant | None = None,
        until: Instant | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        try:
            after_id = decode_cursor(cursor, _CURSOR_KIND) if cursor else None
        except InvalidCursor as error:
            raise ApiError(400, "bad_request", str(error)) from None
        query = IncidentQuery(
            states=tuple(item.value for item in state),
            priorities=tuple(priority),
            service=service_name,
            source=source,
            levels=tuple(level),
            categories=tuple(item.value for item in category),
            impacts=tuple(item.value for item in impact),
            breached=breached,
            since=since,
            until=until,
            after_id=after_id,
            limit=limit,
        )
        with sessions() as session:
            rows, next_after = list_incidents(session, query)
            counts = count_alerts(session, [row.id for row in rows])
            items = [incident_fields(row, alert_count=counts[row.id]) for row in rows]
        return {
            "items": items,
            "next_cursor": encode_cursor(next_after, _CURSOR_KIND) if next_after else None,
        }

    @router.get("/{incident_id}", summary="One incident, with its alerts and timeline")
    def get_one(incident_id: IncidentId) -> dict[str, Any]:
        with sessions() as session:
            detail = get_incident(session, incident_id)
            if detail is None:
                raise ApiError(404, "not_found", f"no incident {incident_id}")
            return {
                **incident_fields(detail.incident, alert_count=len(detail.alerts)),
                "alerts": [alert_resource(alert) for alert in detail.alerts],
                "timeline": [event_resource(event) for event in detail.timeline],
            }

    @router.post("", status_code=201, dependencies=writes, summary="Report a manual incident")
    def report(body: ReportBody, response: Response) -> dict[str, Any]:
        with change() as session:
            incident = service.open_manual_incident(
                session,
                report=service.ManualIncident(
                    title=body.title,
                    service=body.service,
                    priority=body.priority,
                    impact=body.impact,
                    category=body.category,
                    reporter=body.reporter,
                    channel=body.channel.value,
                    level=body.level,
                    started_at=body.started_at,
                ),
                actor=body.actor or body.reporter,
                rules=rules.current,
                now=clock(),
            )
            response.headers["Location"] = f"/api/v1/incidents/{incident.id}"
            return incident_resource(session, incident)

    @router.post("/{incident_id}/ack", dependencies=writes, summary="Acknowledge")
    def ack(incident_id: IncidentId, body: ActionBody) -> dict[str, Any]:
        with change() as session:
            incident = service.acknowledge(
                session,
                incident_id=incident_id,
                actor=body.actor,
                rules=rules.current,
                now=clock(),
                note=body.note,
            )
            return incident_resource(session, incident)

    @router.post("/{incident_id}/resolve", dependencies=writes, summary="Resolve")
    def resolve(incident_id: IncidentId, body: ActionBody) -> dict[str, Any]:
        with change() as session:
            incident = service.resolve(
                session,
                incident_id=incident_id,
                actor=body.actor,
                rules=rules.current,
                now=clock(),
                note=body.note,
            )
            return incident_resource(session, incident)

    @router.post("/{incident_id}/close", dependencies=writes, summary="Close a resolved incident")
    def close(incident_id: IncidentId, body: CloseBody) -> dict[str, Any]:
        with change() as session:
            incident = service.close(
                session,
                incident_id=incident_id,
                actor=body.actor,
                confirmed_by=body.confirmed_by,
                now=clock(),
                note=body.note,
            )
            return incident_resource(session, incident)

    @router.post("/{incident_id}/reopen", dependencies=writes, summary="Reopen")
    def reopen(incident_id: IncidentId, body: ActionBody) -> dict[str, Any]:
        with change() as session:
            incident = service.reopen(
                session,
                incident_id=incident_id,
                actor=body.actor,
                rules=rules.current,
                now=clock(),
                note=body.note,
            )
            return incident_resource(session, incident)

    @router.post("/{incident_id}/notes", status_code=201, dependencies=writes, summary="Add a note")
    def notes(incident_id: IncidentId, body: NoteBody) -> dict[str, Any]:
        with change() as session:
            service.add_note(
                session, incident_id=incident_id, actor=body.actor, note=body.note, now=clock()
            )
        return {"incident_id": incident_id, "actor": body.actor, "note": body.note}

    @router.patch("/{incident_id}", dependencies=writes, summary="Reclassify (audited)")
    def patch(incident_id: IncidentId, body: ReclassifyBody) -> dict[str, Any]:
        fields = body.model_dump(exclude_none=True, exclude={"actor", "note"})
        if not fields:
            raise ApiError(
                422,
                "invalid_value",
                "nothing to change: give priority, category, impact, service or title",
            )
        with change() as session:
            incident = service.reclassify(
                session,
                incident_id=incident_id,
                change=service.Reclassification(
                    priority=body.priority,
                    category=body.category,
                    impact=body.impact,
                    service=body.service,
                    title=body.title,
                ),
                actor=body.actor,
                rules=rules.current,
                now=clock(),
                note=body.note,
            )
            return incident_resource(session, incident)

    return router
