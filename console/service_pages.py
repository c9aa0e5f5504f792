"""The console's service pages: every service's state and month so far; one service's month on
a timeline with its Grafana dashboard; and maintenance, planned and cancelled by a manager.

Figures come from `availability` (the same functions as the API and the metrics), maintenance
is planned and cancelled through `availability.planning`, as the API does.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from access.guard import caller_of
from access.roles import Role
from availability import planning, service
from availability.overview import month_timeline, month_to_date
from availability.periods import month_period
from availability.silence_records import silences_of_windows
from console.desk import (
    ConsoleDesk,
    Desk,
    Language,
    Looking,
    answer_page,
    form_fields,
    refused,
    typed_instant,
)
from console.timeline import month_bars
from core.bounds import MAX_ROW_ID
from core.errors import ApiError
from incident.queries import IncidentQuery, list_incidents
from incident.store import ACTIVE_STATES

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
ServiceName = Annotated[str, Path(min_length=1, max_length=200)]
WindowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
# Maintenance shown: what ended in the last 30 days and what begins in the next 90.
PAST = timedelta(days=30)
AHEAD = timedelta(days=90)
# The dashboard a service's page links to (its `uid` in dashboards/sla-compliance.json).
SLA_DASHBOARD = "slakeeper-sla-compliance"


@router.get("/services")
async def services_page(
    request: Request, viewer: Looking, desk: Desk, lang: Language = None
) -> Response:
    if viewer.caller is None:
        return RedirectResponse("/login", status_code=303)
    context = await run_in_threadpool(_services, desk)
    return answer_page(request, viewer, "services.html.j2", context)


def _services(desk: ConsoleDesk) -> dict[str, Any]:
    availability = desk.availability
    rules, now = availability.rules.current, availability.clock()
    with availability.sessions() as session:
        states = service.services_overview(session, rules=rules, now=now)
        figures = month_to_date(session, rules=rules, names=[s.name for s in states], now=now)
    return {"page": "services", "services": list(zip(states, figures, strict=True))}


@router.get("/services/{name}")
async def service_page(
    request: Request, name: ServiceName, viewer: Looking, desk: Desk, lang: Language = None
) -> Response:
    if viewer.caller is None:
        return RedirectResponse("/login", status_code=303)
    try:
        context = await run_in_threadpool(_service, desk, name)
    except ApiError as missing:
        return answer_page(
            request, viewer, "error.html.j2", {"error": missing}, status_code=missing.status
        )
    return answer_page(request, viewer, "service.html.j2", context)


def _service(desk: ConsoleDesk, name: str) -> dict[str, Any]:
    availability = desk.availability
    rules, now = availability.rules.current, availability.clock()
    with availability.sessions() as session:
        if not service.is_known(session, rules=rules, name=name):
            raise ApiError(404, "not_found", f"service {name!r} is not known")
        [state] = [
            s for s in service.services_overview(session, rules=rules, now=now) if s.name == name
        ]
        figures, timeline = month_timeline(session, rules=rules, name=name, now=now)
        open_incidents, _ = list_incidents(
            session, IncidentQuery(states=tuple(ACTIVE_STATES), service=name, limit=200)
        )
        windows = _windows(session, desk, name, now)
        session.expunge_all()
    month_end = _month_end(timeline.period.start, rules.service(name).timezone)
    return {
        "page": "services",
        "state": state,
        "figures": figures,
        "timeline": timeline,
        "bars": month_bars(timeline, timeline.period.start, month_end),
        "service_zone": rules.service(name).timezone.key,
        "incidents": open_incidents,
        "windows": windows,
        "grafana_link": _grafana_link(desk.grafana_url, name),
    }


def _month_end(start: datetime, zone: ZoneInfo) -> datetime:
    local = start.astimezone(zone)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return month_period(year, month, zone, now=start + timedelta(days=70)).start


def _grafana_link(grafana_url: str | None, name: str) -> str | None:
    if not grafana_url:
        return None
    query = urlencode({"var-service": name})
    return f"{grafana_url.rstrip('/')}/d/{SLA_DASHBOARD}/{SLA_DASHBOARD}?{query}"


def _windows(
    session: Any, desk: ConsoleDesk, name: str | None, now: datetime
) -> list[dict[str, Any]]:
    """Each window with its occurrences from PAST ago to AHEAD, in the service's zone, and
    the Alertmanager silences of those not ended."""
    rules = desk.availability.rules.current
    definitions = service.maintenance_definitions(session, rules=rules, name=name)
    silences = silences_of_windows(session, definitions, now=now)
    views = []
    for definition, of_window in zip(definitions, silences, strict=True):
        occurrences = service.occurrences_of(definition, rules, now - PAST, now + AHEAD)
        views.append(
            {
                "definition": definition,
                "zone": rules.service(definition.service).timezone.key,
                "past": [o for o in occurrences if o[1] <= now][-3:],
                "current": [o for o in occurrences if o[0] <= now < o[1]],
                "upcoming": [o for o in occurrences if o[0] > now][:5],
                # Each occurrence's Alertmanager silence, by its start (a day ahead at most).
                "silences": {silence.starts_at: silence for silence in of_window},
            }
        )
    return views


@router.get("/maintenance")
async def maintenance_page(
    request: Request, viewer: Looking, desk: Desk, lang: Language = None
) -> Response:
    if viewer.caller is None:
        return RedirectResponse("/login", status_code=303)
    context = await run_in_threadpool(_maintenance, desk, {})
    return answer_page(request, viewer, "maintenance.html.j2", context)


def _maintenance(desk: ConsoleDesk, fields: dict[str, str]) -> dict[str, Any]:
    availability = desk.availability
    rules, now = availability.rules.current, availability.clock()
    with availability.sessions() as session:
        windows = _windows(session, desk, None, now)
        names = service.known_service_names(session, rules=rules)
    return {"page": "maintenance", "windows": windows, "services": names, "fields": fields}


@router.post("/maintenance")
async def plan_form(request: Request, viewer: Looking, desk: Desk) -> Response:
    fields = await form_fields(request)
    try:
        caller = await caller_of(request, Role.MANAGER)
        body = planning.MaintenanceBody(**_window_body(desk, fields))
        planned = await run_in_threadpool(planning.plan, desk.availability, caller, body)
    except (ApiError, ValueError, LookupError) as error:
        problem = refused(error)
        context = {**await run_in_threadpool(_maintenance, desk, fields), "error": problem}
        return answer_page(
            request, viewer, "maintenance.html.j2", context, status_code=problem.status
        )
    return RedirectResponse(f"/services/{quote(planned['service'], safe='')}", status_code=303)


def _window_body(desk: ConsoleDesk, fields: dict[str, str]) -> dict[str, Any]:
    """The window's body from the form: a one-off's times typed in the service's zone."""
    body: dict[str, Any] = {
        name: fields[name] for name in ("service", "cron", "duration", "reason") if name in fields
    }
    zone = desk.availability.rules.current.service(fields.get("service", "")).timezone
    for name in ("start", "end"):
        if name in fields:
            body[name] = typed_instant(fields, name, zone)
    return body


@router.post("/maintenance/{window_id}/delete")
async def cancel_form(
    request: Request, window_id: WindowId, viewer: Looking, desk: Desk
) -> Response:
    try:
        caller = await caller_of(request, Role.MANAGER)
        await run_in_threadpool(planning.cancel, desk.availability, caller, window_id)
    except (ApiError, LookupError) as error:
        problem = refused(error)
        context = {**await run_in_threadpool(_maintenance, desk, {}), "error": problem}
        return answer_page(
            request, viewer, "maintenance.html.j2", context, status_code=problem.status
        )
    return RedirectResponse("/maintenance", status_code=303)
