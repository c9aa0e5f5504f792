"""`/api/v1/services`, `/api/v1/maintenance` and `/api/v1/reports/availability`.

Routes parse, call `availability.service` or `availability.report`, and map errors: 404 an
unknown service or window, 422 a period or window that cannot be, 400 a malformed query.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from availability import service
from availability.compliance import ComplianceReport
from availability.html import render_html
from availability.maintenance import MaintenanceDefinition, Origin, TooManyOccurrences
from availability.periods import Period, PeriodInFuture, month_to_date, parse_month, range_period
from availability.rendering import report_csv, report_json
from availability.report import build_report
from core.bounds import MAX_ROW_ID, Instant, ServiceName, StorableText
from core.database import writing_session
from core.errors import ApiError, validation_details
from core.security import require_token
from core.wire import rfc3339
from rules.reloading import ActiveRules
from rules.schema import MaintenanceSpec

__all__ = ["create_router", "maintenance_resource"]

Name = Annotated[StorableText, Field(min_length=1, max_length=200)]
# Occurrences are listed for at most this long a query: a year and its edges, not centuries.
MAINTENANCE_QUERY_SPAN = timedelta(days=400)


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
    actor: Name = Field(description="who planned it, for the record")


def maintenance_resource(
    definition: MaintenanceDefinition, occurrences: list[tuple[datetime, datetime]] | None = None
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "id": definition.id,
        "origin": definition.origin.value,
        "service": definition.service,
        "start": rfc3339(definition.start) if definition.start is not None else None,
        "end": rfc3339(definition.end) if definition.end is not None else None,
        "cron": definition.cron,
        "duration_seconds": (
            definition.duration.total_seconds() if definition.duration is not None else None
        ),
        "reason": definition.reason,
    }
    if occurrences is not None:
        resource["occurrences"] = [
            {"start": rfc3339(start), "end": rfc3339(end)} for start, end in occurrences
        ]
    return resource


def _period(
    month: str | None, start: datetime | None, end: datetime | None, timezone: Any, now: datetime
) -> Period:
    """The period a query names: a month in `timezone`, a from/to range, or month to date."""
    try:
        if month is not None:
            if start is not None or end is not None:
                raise ValueError("give either month, or from and to, not both")
            year, number = parse_month(month)
            return service.month_of(year, number, timezone, now=now)
        if start is not None or end is not None:
            if start is None or end is None:
                raise ValueError("give both from and to")
            return range_period(start, end, now=now)
        return month_to_date(timezone, now=now)
    except PeriodInFuture as error:
        raise ApiError(422, "invalid_period", str(error)) from None
    except ValueError as error:
        raise ApiError(400, "bad_request", str(error)) from None


def create_router(
    *,
    engine: Engine,
    sessions: sessionmaker[Session],
    rules: ActiveRules,
    clock: Callable[[], datetime],
    api_tokens: Sequence[str],
) -> APIRouter:
    """The availability routes; maintenance writes need an API token when tokens are set."""
    router = APIRouter(prefix="/api/v1", tags=["availability"])
    writes = [Depends(require_token(api_tokens, "API"))]

    @router.get("/services", summary="Services, each with its current state")
    def get_services() -> dict[str, Any]:
        with sessions() as session:
            states = service.services_overview(session, rules=rules.current, now=clock())
        return {"items": [state.resource() for state in states], "next_cursor": None}

    @router.get("/services/{name}/availability", summary="A service's availability figures")
    def get_availability(
        name: str,
        month: Annotated[str | None, Query(examples=["2026-11"])] = None,
        start: Annotated[Instant | None, Query(alias="from")] = None,
        end: Annotated[Instant | None, Query(alias="to")] = None,
    ) -> dict[str, Any]:
        now = clock()
        current = rules.current
        policy = current.service(name)
        period = _period(month, start, end, policy.timezone, now)
        with sessions() as session:
            if not service.is_known(session, rules=current, name=name):
                raise ApiError(404, "not_found", f"no service {name!r}")
            try:
                figures = service.service_availability(
                    session, rules=current, name=name, period=period, now=now
                )
            except TooManyOccurrences as error:
                raise ApiError(422, "invalid_maintenance", str(error)) from None
        return service.availability_resource(figures)

    @router.get("/maintenance", summary="Maintenance windows (the API's and the rule file's)")
    def get_maintenance(
        service_name: Annotated[str | None, Query(alias="service")] = None,
        start: Annotated[Instant | None, Query(alias="from")] = None,
        end: Annotated[Instant | None, Query(alias="to")] = None,
    ) -> dict[str, Any]:
        if (start is None) != (end is None) or (start and end and end <= start):
            raise ApiError(400, "bad_request", "give both from and to, with from before to")
        if start is not None and end is not None and end - start > MAINTENANCE_QUERY_SPAN:
            raise ApiError(
                400,
                "bad_request",
                f"from and to may be at most {MAINTENANCE_QUERY_SPAN.days} days apart: "
                "ask for the occurrences a year at a time",
            )
        current = rules.current
        with sessions() as session:
            definitions = service.maintenance_definitions(session, rules=current, name=service_name)
        items = []
        for definition in definitions:
            occurrences = None
            if start is not None and end is not None:
                try:
                    occurrences = service.occurrences_of(definition, current, start, end)
                except TooManyOccurrences as error:
                    raise ApiError(422, "invalid_maintenance", str(error)) from None
            items.append(maintenance_resource(definition, occurrences))
        return {"items": items, "next_cursor": None}

    @router.post(
        "/maintenance", status_code=201, dependencies=writes, summary="Plan a maintenance window"
    )
    def post_maintenance(body: MaintenanceBody, response: Response) -> dict[str, Any]:
        try:
            spec = MaintenanceSpec.model_validate(
                body.model_dump(exclude={"actor"}, exclude_none=True)
            )
        except ValidationError as error:
            raise ApiError(
                422, "invalid_payload", "invalid maintenance window", validation_details(error)
            ) from None
        definition = MaintenanceDefinition(
            service=spec.service,
            origin=Origin.API,
            reason=spec.reason,
            start=spec.start,
            end=spec.end,
            cron=spec.cron,
            duration=spec.duration.value if spec.duration is not None else None,
        )
        with writing_session(engine) as session:
            stored = service.plan_maintenance(session, definition, actor=body.actor, now=clock())
        response.headers["Location"] = f"/api/v1/maintenance/{stored.id}"
        return maintenance_resource(stored)

    @router.delete(
        "/maintenance/{window_id}", dependencies=writes, summary="Cancel a maintenance window"
    )
    def delete_maintenance(
        window_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)],
        actor: Annotated[StorableText, Query(min_length=1, max_length=200)],
    ) -> dict[str, Any]:
        with writing_session(engine) as session:
            if not service.cancel_maintenance(session, window_id, actor=actor, now=clock()):
                raise ApiError(404, "not_found", f"no maintenance window {window_id}")
        return {"id": window_id, "deleted": True, "deleted_by": actor}

    @router.get(
        "/reports/availability",
        summary="The monthly compliance report",
        responses={
            200: {
                "content": {
                    "application/json": {},
                    "text/csv": {"schema": {"type": "string"}},
                    "text/html": {"schema": {"type": "string"}},
                }
            }
        },
    )
    def get_report(
        month: Annotated[str, Query(examples=["2026-11"])],
        format: Literal["json", "csv", "html"] = "json",
    ) -> Any:
        now = clock()
        try:
            year, number = parse_month(month)
        except ValueError as error:
            raise ApiError(400, "bad_request", str(error)) from None
        with sessions() as session:
            try:
                report: ComplianceReport = build_report(
                    session, rules=rules.current, year=year, month=number, now=now
                )
            except PeriodInFuture as error:
                raise ApiError(422, "invalid_period", str(error)) from None
            except TooManyOccurrences as error:
                raise ApiError(422, "invalid_maintenance", str(error)) from None
        if format == "csv":
            return PlainTextResponse(
                report_csv(report),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="availability-{month}.csv"'},
            )
        if format == "html":
            return HTMLResponse(render_html(report))
        return report_json(report)

    return router
