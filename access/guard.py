"""Route dependencies: who may call a route (a role, or the ingest scope), and the caller
they hand the route, to record as the actor.

Every route of the application declares one: `create_app` refuses to build an application
with a route that has none (`unguarded_routes`), and the role matrix test checks each.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from functools import cache
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute

from access.audit import Caller
from access.authentication import Authenticator, CrossSiteRefused, Unauthenticated
from access.roles import INGEST, LOCAL_ADMIN, Principal, Role, allows
from core.binding import StateSlot
from core.errors import ApiError

__all__ = [
    "AUTHENTICATOR",
    "Admin",
    "Ingesting",
    "Manager",
    "Operator",
    "Viewer",
    "allowed",
    "require",
    "scrape",
    "unguarded_routes",
]

AUTHENTICATOR = StateSlot[Authenticator]("authenticator")
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="slakeeper", Basic realm="slakeeper"'}
# The attribute a guard dependency carries: what it requires.
_REQUIRES = "slakeeper_requires"


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers=_CHALLENGE)


async def caller_of(request: Request, needed: Role | str) -> Caller:
    """The caller of `request` if it may do what `needed` (a role, or `ingest`) allows."""
    authenticator = AUTHENTICATOR.of(request)
    ingest = needed == INGEST
    try:
        principal = await authenticator.authenticate(request)
    except Unauthenticated as refused:
        if not await authenticator.open_to_anyone(ingest=ingest):
            raise _unauthorized(str(refused)) from None
        principal = None
    except CrossSiteRefused as refused:
        raise ApiError(403, "csrf_failed", str(refused)) from None
    if principal is None or not _permits(principal, needed):
        if await authenticator.open_to_anyone(ingest=ingest):
            principal = LOCAL_ADMIN
        elif principal is None:
            what = "an ingest token" if ingest else "a credential"
            raise _unauthorized(
                f"{what} is required (Authorization: Bearer, basic auth, or a console session)"
            )
        else:
            raise ApiError(
                403,
                "forbidden",
                f"{principal.name!r} may not do this: it needs "
                + ("the ingest scope" if ingest else f"the {needed} role or above"),
            )
    return Caller(principal, authenticator.address(request))


def _permits(principal: Principal, needed: Role | str) -> bool:
    if needed == INGEST:
        return principal.may_ingest
    return allows(principal, Role(needed))


@cache
def require(needed: Role | str) -> Callable[[Request], Awaitable[Caller]]:
    """The dependency of a route that needs `needed` (a role or `ingest`)."""

    async def dependency(request: Request) -> Caller:
        return await caller_of(request, needed)

    setattr(dependency, _REQUIRES, str(needed))
    return dependency


def allowed() -> Callable[[Request], Awaitable[None]]:
    """The dependency of a route anyone may call (health, readiness, and metrics when open)."""
    return _anyone


async def _anyone(request: Request) -> None:
    return None


_anyone.slakeeper_requires = "anyone"  # type: ignore[attr-defined]


async def scrape(request: Request) -> None:
    """The dependency of `/metrics`: open, or a viewer with `metrics_need_credential`."""
    if AUTHENTICATOR.of(request).config.metrics_need_credential:
        await caller_of(request, Role.VIEWER)


scrape.slakeeper_requires = "metrics"  # type: ignore[attr-defined]

Viewer = Annotated[Caller, Depends(require(Role.VIEWER))]
Operator = Annotated[Caller, Depends(require(Role.OPERATOR))]
Manager = Annotated[Caller, Depends(require(Role.MANAGER))]
Admin = Annotated[Caller, Depends(require(Role.ADMIN))]
Ingesting = Annotated[Caller, Depends(require(INGEST))]


def requirement(route: APIRoute) -> str | None:
    """What a route requires (a role, `ingest`, or `anyone`), or None if it declares nothing."""
    found: list[str] = []

    def visit(dependant: Any) -> None:
        call = getattr(dependant, "call", None)
        if call is not None and hasattr(call, _REQUIRES):
            found.append(getattr(call, _REQUIRES))
        for child in dependant.dependencies:
            visit(child)

    visit(route.dependant)
    return found[0] if found else None


def unguarded_routes(app: FastAPI) -> list[str]:
    """The routes of `app`'s API that declare no access rule (the documentation's own
    routes, outside the schema, are guarded apart)."""
    return [
        f"{sorted(route.methods or ())[0]} {route.path}"
        for route in api_routes(app.routes)
        if requirement(route) is None and not route.path.startswith("/docs")
    ]


def api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """Every API route, also inside included routers (kept apart by newer FastAPI)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from api_routes(included.routes)
