"""Every endpoint answers 400 to a query parameter it does not know, and to a NUL in any.

An unknown parameter used to be ignored: `?source=grafana` on an endpoint without that filter
returned every source, and the caller believed the answer was filtered. A NUL cannot be compared
with any stored text (PostgreSQL refuses it outright), so no filter or path value may hold one.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from core.errors import ApiError

__all__ = ["reject_unknown_query_parameters"]

_known: dict[int, frozenset[str]] = {}


def _query_names(dependant: Dependant) -> frozenset[str]:
    names: set[str] = set()
    pending = [dependant]
    while pending:
        current = pending.pop()
        names.update(field.alias for field in current.query_params)
        pending.extend(current.dependencies)
    return frozenset(names)


def _accepted(route: APIRoute) -> frozenset[str]:
    known = _known.get(id(route))
    if known is None:
        known = _known[id(route)] = _query_names(route.dependant)
    return known


async def reject_unknown_query_parameters(request: Request) -> None:
    """A dependency of the whole application; see the module's docstring."""
    scope = request.scope
    if not scope.get("query_string") and not scope.get("path_params"):
        return  # nothing to check: most requests, and every push
    route = scope.get("route")
    params = request.query_params
    if isinstance(route, APIRoute) and params:
        accepted = _accepted(route)
        unknown = sorted({name for name in params if name not in accepted})
        if unknown:
            raise ApiError(
                400,
                "bad_request",
                f"unknown query parameter{'s' if len(unknown) > 1 else ''}: "
                + ", ".join(unknown)
                + (f"; this endpoint accepts: {', '.join(sorted(accepted))}" if accepted else ""),
                {"unknown": unknown, "accepted": sorted(accepted)},
            )
    for where, pairs in (("query", params.multi_items()), ("path", request.path_params.items())):
        for name, value in pairs:
            if isinstance(value, str) and "\x00" in value:
                raise ApiError(
                    400,
                    "bad_request",
                    f"{where} parameter {name} must not contain a NUL character (U+0000)",
                    {"field": name},
                )
