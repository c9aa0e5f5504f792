"""Acknowledging from a message: the link in a message opens a page that names the incident
and the person, and its button acknowledges as that person (`oncall.acks`).

The link is the credential: no session is needed, and a session cookie is not looked at (a
chat app's preview may open the page; only the button acknowledges). A link works once, until
it expires, for a person who may acknowledge (the operator role or above).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from access.guard import AUTHENTICATOR, allowed
from console.desk import SLOT, Language, Viewer, answer_page, form_fields
from console.i18n import negotiate
from core.errors import ApiError
from incident.lifecycle import InvalidTransition
from incident.queries import get_incident
from oncall.acklinks import AckGrant, ExpiredLink, InvalidLink
from oncall.acks import LinkNotAllowed, LinkUsed, check_link, redeem
from oncall.store import active_people

__all__ = ["router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(allowed())])
LinkText = Annotated[str, Path(min_length=1, max_length=2000)]


@router.get("/ack/{link}")
async def ack_page(request: Request, link: LinkText, lang: Language = None) -> Response:
    try:
        grant, incident = await run_in_threadpool(_look, request, link)
    except (InvalidLink, ExpiredLink, LinkUsed) as error:
        return _refusal(request, error)
    viewer = await run_in_threadpool(_viewer_for, request, grant.person)
    context = {"grant": grant, "incident": incident, "page": "ack"}
    answer = answer_page(request, viewer, "ack.html.j2", context)
    answer.headers["Cache-Control"] = "no-store"
    answer.headers["Referrer-Policy"] = "no-referrer"
    return answer


@router.post("/ack/{link}")
async def ack_form(request: Request, link: LinkText, lang: Language = None) -> Response:
    fields = await form_fields(request)
    desk = SLOT.of(request)
    address = AUTHENTICATOR.of(request).address(request)
    try:
        done = await run_in_threadpool(
            redeem, desk.incidents, link, address=address, note=fields.get("note")
        )
    except (InvalidLink, ExpiredLink, LinkUsed, LinkNotAllowed, InvalidTransition) as error:
        return _refusal(request, error)
    viewer = await run_in_threadpool(_viewer_for, request, done.grant.person)
    context = {"grant": done.grant, "incident": done.incident, "done": True, "page": "ack"}
    answer = answer_page(request, viewer, "ack.html.j2", context)
    answer.headers["Cache-Control"] = "no-store"
    return answer


def _look(request: Request, link: str) -> tuple[AckGrant, dict[str, Any]]:
    desk = SLOT.of(request).incidents
    with desk.sessions() as session:
        grant = check_link(session, link, now=desk.clock())
        detail = get_incident(session, grant.incident_id)
        if detail is None:
            raise InvalidLink("the incident of this link no longer exists")
        incident = detail.incident
        return grant, {
            "id": incident.id,
            "title": incident.title,
            "priority": incident.priority,
            "service": incident.service,
            "state": incident.state,
            "acknowledged_by": incident.acknowledged_by,
        }


def _viewer_for(request: Request, person: str) -> Viewer:
    """The page in the link's person's language and zone (no session is consulted)."""
    desk = SLOT.of(request)
    with desk.incidents.sessions() as session:
        account = active_people(session, [person]).get(person)
    language = negotiate(
        request.query_params.get("lang"),
        account.language if account else None,
        request.headers.get("accept-language"),
    )
    zone = (account.timezone if account else None) or desk.timezone
    return Viewer(None, language, zone)


_STATUSES: dict[type[Exception], tuple[int, str]] = {
    InvalidLink: (403, "invalid_link"),
    ExpiredLink: (410, "link_expired"),
    LinkUsed: (409, "link_used"),
    LinkNotAllowed: (403, "forbidden"),
    InvalidTransition: (409, "invalid_transition"),
}


def _refusal(request: Request, error: Exception) -> Response:
    status, code = next(found for kind, found in _STATUSES.items() if isinstance(error, kind))
    language = negotiate(
        request.query_params.get("lang"), None, request.headers.get("accept-language")
    )
    viewer = Viewer(None, language, "UTC")
    problem = ApiError(status, code, str(error))
    answer = answer_page(
        request, viewer, "ack.html.j2", {"error": problem, "page": "ack"}, status_code=status
    )
    answer.headers["Cache-Control"] = "no-store"
    return answer
