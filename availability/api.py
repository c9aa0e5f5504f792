"""`/api/v1/services` and `/api/v1/maintenance` (the report's route is `ledger.api`'s: a
closed month is reported from its record).

Routes parse and call `availability.service`; their errors are answered by `ERRORS`: 404 an
unknown service or window, 422 a period or window that cannot be, 400 a query that names no
period, 503 a PDF that Chromium could not print (for the report's route).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Response

from access.guard import Manager, Viewer
from availability import planning, service
from availability.maintenance import TooManyOccurrences
from availability.pdf import PdfError
from availability.periods import InvalidPeriod, PeriodInFuture, requested_period
from availability.planning import AvailabilityDesk, MaintenanceBody
from availability.resources import (
    AvailabilityResource,
    CancelledWindow,
    MaintenancePage,
    MaintenanceResource,
    ServicePage,
    maintenance_resource,
)
from availability.silence_records import silences_of_windows
from core.binding import StateSlot
from core.bounds import MAX_ROW_ID, Instant, StorableText
from core.errors import ApiError, ErrorStatus, ErrorTable, error_responses, validation_details
from core.responses import JSONBody

__all__ = ["ERRORS", "AvailabilityDesk", "install", "router"]

ERRORS: ErrorTable = {
    InvalidPeriod: ErrorStatus(400, "bad_request"),
    PeriodInFuture: ErrorStatus(422, "invalid_period"),
    TooManyOccurrences: ErrorStatus(422, "invalid_maintenance"),
    PdfError: ErrorStatus(503, "pdf_unavailable"),  # no Chromium, or it failed to print
    service.UnknownService: ErrorStatus(404, "not_found"),
    service.MaintenanceWindowNotFound: ErrorStatus(404, "not_found"),
    service.InvalidMaintenanceWindow: ErrorStatus(
        422, "invalid_payload", details=lambda error: validation_details(error.error)
    ),
}

# Occurrences are listed for at most this long a query: a year and its edges, not centuries.
MAINTENANCE_QUERY_SPAN = timedelta(days=400)


_SLOT = StateSlot[AvailabilityDesk]("availability_desk")


def install(app: FastAPI, desk: AvailabilityDesk) -> None:
    """Serve the availability routes in `app`: reads need a viewer, maintenance a manager."""
    _SLOT.put(app, desk)
    app.include_router(router)


Desk = Annotated[AvailabilityDesk, Depends(_SLOT)]
router = APIRouter(prefix="/api/v1", tags=["availability"])


@router.get(
    "/services",
    summary="Services, each with its current state",
    response_model=ServicePage,
    responses=error_responses(400, 401, 403, 503),
)
def get_services(desk: Desk, _caller: Viewer) -> Response:
    with desk.sessions() as session:
        states = service.services_overview(session, rules=desk.rules.current, now=desk.clock())
    return JSONBody({"items": [state.resource() for state in states], "next_cursor": None})


@router.get(
    "/services/{name}/availability",
    summary="A service's availability figures",
    response_model=AvailabilityResource,
    responses=error_responses(400, 401, 403, 404, 422, 503),
)
def get_availability(
    name: str,
    desk: Desk,
    _caller: Viewer,
    month: Annotated[str | None, Query(examples=["2026-11"])] = None,
    start: Annotated[Instant | None, Query(alias="from")] = None,
    end: Annotated[Instant | None, Query(alias="to")] = None,
) -> Response:
    now, current = desk.clock(), desk.rules.current
    period = requested_period(month, start, end, current.service(name).timezone, now=now)
    with desk.sessions() as session:
        service.require_known(session, rules=current, name=name)
        figures = service.service_availability(
            session, rules=current, name=name, period=period, now=now
        )
    return JSONBody(service.availability_resource(figures))


@router.get(
    "/maintenance",
    summary="Maintenance windows (the API's and the rule file's)",
    response_model=MaintenancePage,
    responses=error_responses(400, 401, 403, 422, 503),
)
def get_maintenance(
    desk: Desk,
    _caller: Viewer,
    service_name: Annotated[str | None, Query(alias="service")] = None,
    start: Annotated[Instant | None, Query(alias="from")] = None,
    end: Annotated[Instant | None, Query(alias="to")] = None,
) -> Response:
    if (start is None) != (end is None) or (start and end and end <= start):
        raise ApiError(400, "bad_request", "give both from and to, with from before to")
    if start is not None and end is not None and end - start > MAINTENANCE_QUERY_SPAN:
        raise ApiError(
            400,
            "bad_request",
            f"from and to may be at most {MAINTENANCE_QUERY_SPAN.days} days apart: "
            "ask for the occurrences a year at a time",
        )
    current = desk.rules.current
    with desk.sessions() as session:
        definitions = service.maintenance_definitions(session, rules=current, name=service_name)
        silences = silences_of_windows(session, definitions, now=desk.clock())
    items = [
        maintenance_resource(
            definition,
            service.occurrences_of(definition, current, start, end)
            if start is not None and end is not None
            else None,
            silences=of_window,
        )
        for definition, of_window in zip(definitions, silences, strict=True)
    ]
    return JSONBody({"items": items, "next_cursor": None})


@router.post(
    "/maintenance",
    status_code=201,
    summary="Plan a maintenance window (manager)",
    response_model=MaintenanceResource,
    responses=error_responses(400, 401, 403, 422, 503),
)
def post_maintenance(body: MaintenanceBody, desk: Desk, caller: Manager) -> Response:
    fields = planning.plan(desk, caller, body)
    location = {"Location": f"/api/v1/maintenance/{fields['id']}"}
    return JSONBody(fields, status_code=201, headers=location)


@router.delete(
    "/maintenance/{window_id}",
    summary="Cancel a maintenance window (manager)",
    response_model=CancelledWindow,
    responses=error_responses(400, 401, 403, 404, 503),
)
def delete_maintenance(
    window_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)],
    desk: Desk,
    caller: Manager,
    actor: Annotated[StorableText, Query(min_length=1, max_length=200)] | None = None,
) -> Response:
    return JSONBody(planning.cancel(desk, caller, window_id, actor))
