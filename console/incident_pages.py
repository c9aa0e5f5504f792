"""The console's incident pages: one incident with its clocks, alerts, timeline and the actions
the viewer's role allows; and the form to report an incident.

A form posts to the page; the page calls `incident.actions`, as the API's routes do, and
answers with a redirect to the incident, or with the page again and the server's reason (the
status the API would give: 403 role, 409 state, 422 value).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, NamedTuple
from urllib.parse import urlsplit

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from access.audit import Caller
from access.guard import caller_of
from access.roles import Role
from console.clocks import incident_clocks
from console.desk import (
    ConsoleDesk,
    Desk,
    Language,
    Looking,
    Viewer,
    answer_page,
    form_fields,
    refused,
    typed_instant,
)
from console.i18n import Words
from core.bounds import MAX_ROW_ID
from core.errors import ApiError
from incident import actions
from incident.actions import IncidentDesk
from incident.queries import incident_page as read_incident_page
from incident.requests import ActionBody, Channel, CloseBody, NoteBody, ReclassifyBody, ReportBody
from rules.schema import Category, Impact

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
IncidentId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]

# Each form of the detail page: the role it needs, its body, and the action it calls.
Action = Callable[[IncidentDesk, Caller, int, Any], dict[str, Any]]
_ACTIONS: dict[str, tuple[Role, type[Any], Action]] = {
    "ack": (Role.OPERATOR, ActionBody, actions.acknowledge),
    "resolve": (Role.OPERATOR, ActionBody, actions.resolve),
    "close": (Role.OPERATOR, CloseBody, actions.close),
    "reopen": (Role.OPERATOR, ActionBody, actions.reopen),
    "note": (Role.OPERATOR, NoteBody, actions.add_note),
    "reclassify": (Role.MANAGER, ReclassifyBody, actions.reclassify),
}
# Which actions each state offers (the server still decides: a stale page meets a 409).
_OFFERED = {
    "open": ("ack", "resolve"),
    "acknowledged": ("resolve",),
    "resolved": ("close", "reopen"),
    "closed": ("reopen",),
}


@router.get("/incidents/new")
async def report_page(
    request: Request, viewer: Looking, desk: Desk, lang: Language = None
) -> Response:
    if viewer.caller is None:
        return RedirectResponse("/login", status_code=303)
    return answer_page(request, viewer, "report_incident.html.j2", _report_choices(desk, {}))


@router.post("/incidents/new")
async def report_form(request: Request, viewer: Looking, desk: Desk) -> Response:
    fields = await form_fields(request)
    try:
        caller = await caller_of(request, Role.OPERATOR)
        body = ReportBody(**_report_body(fields, viewer.zone))
        created = await run_in_threadpool(actions.report, desk.incidents, caller, body)
    except (ApiError, ValueError, LookupError) as error:
        problem = refused(error)
        context = {**_report_choices(desk, fields), "error": problem}
        return answer_page(
            request, viewer, "report_incident.html.j2", context, status_code=problem.status
        )
    return RedirectResponse(f"/incidents/{created['id']}", status_code=303)


def _report_body(fields: dict[str, str], zone: str) -> dict[str, Any]:
    """The manual report's body from the form: the start time typed in the viewer's zone."""
    body: dict[str, Any] = {
        name: fields[name]
        for name in ("title", "service", "priority", "impact", "category", "reporter", "channel")
        if name in fields
    }
    if "started_at" in fields:
        body["started_at"] = typed_instant(fields, "started_at", zone)
    return body


def _report_choices(desk: ConsoleDesk, fields: dict[str, str]) -> dict[str, Any]:
    rules = desk.incidents.rules.current
    return {
        "page": "report",
        "fields": fields,
        "priorities": list(rules.priorities),
        "services": sorted(rules.services),
        "impacts": [impact.value for impact in Impact],
        "categories": [category.value for category in Category],
        "channels": [channel.value for channel in Channel],
    }


@router.get("/incidents/{incident_id}")
async def incident_page(
    request: Request, incident_id: IncidentId, viewer: Looking, desk: Desk, lang: Language = None
) -> Response:
    if viewer.caller is None:
        return RedirectResponse("/login", status_code=303)
    try:
        context = await run_in_threadpool(_detail, desk, incident_id, viewer)
    except ApiError as missing:
        return answer_page(
            request, viewer, "error.html.j2", {"error": missing}, status_code=missing.status
        )
    return answer_page(request, viewer, "incident.html.j2", context)


@router.post("/incidents/{incident_id}/{action}")
async def incident_action(
    request: Request, incident_id: IncidentId, action: str, viewer: Looking, desk: Desk
) -> Response:
    if action not in _ACTIONS:
        raise ApiError(404, "not_found", f"no action {action!r}; known: {sorted(_ACTIONS)}")
    needed, body_type, apply = _ACTIONS[action]
    fields = await form_fields(request)
    try:
        caller = await caller_of(request, needed)
        body = body_type(**fields)
        await run_in_threadpool(apply, desk.incidents, caller, incident_id, body)
    except (ApiError, ValueError, LookupError) as error:
        problem = refused(error)
        detail = await run_in_threadpool(_detail, desk, incident_id, viewer)
        context = {**detail, "error": problem}
        context["failed_action"] = action
        return answer_page(request, viewer, "incident.html.j2", context, status_code=problem.status)
    return RedirectResponse(f"/incidents/{incident_id}#timeline", status_code=303)


def _detail(desk: ConsoleDesk, incident_id: int, viewer: Viewer) -> dict[str, Any]:
    incidents = desk.incidents
    rules = incidents.rules.current
    with incidents.sessions() as session:
        detail = read_incident_page(session, incident_id)
        if detail is None:
            raise ApiError(404, "not_found", f"incident {incident_id} not found")
        session.expunge_all()
    incident = detail.incident
    words = Words.of(viewer.language, viewer.zone)
    return {
        "page": "incident",
        "incident": incident,
        "clocks": incident_clocks(incident, incidents.clock()),
        "alerts": [_alert_line(alert, words) for alert in detail.alerts],
        "timeline": [_event_line(event, words) for event in detail.timeline],
        "offered": _OFFERED.get(incident.state, ()),
        "priorities": list(rules.priorities),
        "impacts": [impact.value for impact in Impact],
        "categories": [category.value for category in Category],
    }


class AlertLine(NamedTuple):
    """An alert as the page lists it: worded for the viewer, labels and annotations sorted by
    name, links only where a browser may follow them. Made here, once per alert, not in the
    template: an incident may have thousands."""

    id: int
    status: str
    starts: str
    ends: str
    labels: list[tuple[str, Any]]
    annotations: list[tuple[str, Any]]
    generator_url: str | None
    runbook_url: str | None


def _alert_line(alert: Any, words: Words) -> AlertLine:
    annotations = alert.annotations or {}
    return AlertLine(
        alert.id,
        words.word(alert.status),
        words.time(alert.starts_at),
        words.time(alert.ends_at),
        sorted((alert.labels or {}).items()),
        sorted(annotations.items()),
        _safe_link(alert.generator_url),
        _safe_link(annotations.get("runbook_url")),
    )


class EventLine(NamedTuple):
    """A timeline entry as the page lists it, with each field it changed: (name, before,
    after), "—" where absent."""

    kind: str
    kind_word: str
    at: str  # RFC 3339, for <time datetime>
    when: str
    actor: str
    via: str | None
    changes: list[tuple[str, Any, Any]]
    note: str | None


def _event_line(event: Any, words: Words) -> EventLine:
    before, after = event.before or {}, event.after or {}
    changes = [(key, before.get(key, "—"), after.get(key, "—")) for key in {**before, **after}]
    return EventLine(
        event.kind,
        words.word(event.kind),
        event.at.isoformat(),
        words.time(event.at),
        event.actor,
        event.via,
        changes,
        event.note,
    )


def _safe_link(url: object) -> str | None:
    """`url` if a browser may follow it from the page (http or https), else None: a label
    value is whatever a rule wrote, and `javascript:` is not a link."""
    if not isinstance(url, str) or not url:
        return None
    return url if urlsplit(url).scheme in ("http", "https") else None
