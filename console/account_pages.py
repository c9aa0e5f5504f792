"""The console's "my tokens" page: a person's own API tokens, issued and revoked through
`access.own_tokens` as the API does; a new token's text is shown once, in the answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from access import own_tokens
from access.audit import Caller
from access.guard import AUTHENTICATOR, caller_of
from access.roles import Role
from console.desk import Language, Looking, Viewer, answer_page, form_fields, refused
from core.bounds import MAX_ROW_ID
from core.errors import ApiError

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
TokenId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
SCOPES = ("viewer", "operator", "manager", "admin", "ingest")


@router.get("/tokens")
async def tokens_page(request: Request, viewer: Looking, lang: Language = None) -> Response:
    if viewer.caller is None:
        return RedirectResponse("/login", status_code=303)
    return await _page(request, viewer, {})


async def _page(
    request: Request, viewer: Viewer, extra: dict[str, Any], status_code: int = 200
) -> Response:
    caller = viewer.caller
    assert caller is not None
    listed: list[dict[str, Any]] = []
    if caller.principal.account_id is not None:
        authenticator = AUTHENTICATOR.of(request)
        listed = await run_in_threadpool(
            own_tokens.tokens, authenticator, caller, None, everyone=False
        )
    context = {"page": "tokens", "tokens": listed, "scopes": SCOPES, **extra}
    answer = answer_page(request, viewer, "tokens.html.j2", context, status_code=status_code)
    answer.headers["Cache-Control"] = "no-store"
    return answer


@router.post("/tokens")
async def issue_form(request: Request, viewer: Looking) -> Response:
    fields = await form_fields(request)
    try:
        caller = await caller_of(request, Role.VIEWER)
        issued = await run_in_threadpool(_issue, request, caller, fields, viewer.zone)
    except (ApiError, ValueError, LookupError) as error:
        problem = refused(error)
        return await _page(request, viewer, {"error": problem}, problem.status)
    return await _page(request, viewer, {"issued": issued}, 201)


def _issue(request: Request, caller: Caller, fields: dict[str, str], zone: str) -> dict[str, Any]:
    name = fields.get("name", "")
    if not name or len(name) > 200:
        raise ApiError(422, "invalid_payload", "name: give the token a name of 1 to 200 characters")
    scope = fields.get("scope") or None
    if scope is not None and scope not in SCOPES:
        raise ApiError(422, "invalid_payload", f"scope: one of {', '.join(SCOPES)}")
    expires_at = None
    if "expires_at" in fields:
        try:
            typed = datetime.fromisoformat(fields["expires_at"])
        except ValueError:
            message = f"expires_at: not a date and time: {fields['expires_at']!r}"
            raise ApiError(422, "invalid_payload", message) from None
        expires_at = typed if typed.tzinfo else typed.replace(tzinfo=ZoneInfo(zone))
    return own_tokens.issue(AUTHENTICATOR.of(request), caller, name, scope, expires_at)


@router.post("/tokens/{token_id}/revoke")
async def revoke_form(request: Request, token_id: TokenId, viewer: Looking) -> Response:
    try:
        caller = await caller_of(request, Role.VIEWER)
        await run_in_threadpool(own_tokens.revoke, AUTHENTICATOR.of(request), caller, token_id)
    except (ApiError, ValueError, LookupError) as error:
        problem = refused(error)
        return await _page(request, viewer, {"error": problem}, problem.status)
    return RedirectResponse("/tokens", status_code=303)
