"""A short path through the application for the few routes that carry the load: pushes.

A push through the whole FastAPI stack (three framework middlewares, the documentation guard,
the exception middleware, routing through every included router, dependency solving) cost
more CPU than storing its alert: measured with py-spy under load, about half of the server's
time per single-alert push. A route registered here as well is answered by its `FastHandler`
straight from the outermost layer: the handler does what the route's dependencies do (the
same functions: the query check, the access rule) and calls the same code the route calls.
The route stays declared as usual (the API's schema, the role matrix, every other method on
its path); only a request of the registered method and exact path takes the short path.

An exception is answered by the application's own exception handlers, looked up by class as
Starlette does, so an error reads the same whichever path it took; an exception nobody
handles is logged with its traceback and answered 500, as ServerErrorMiddleware does.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["FastHandler", "FastPath", "add_fast_route", "take_short_path"]

log = logging.getLogger(__name__)

FastHandler = Callable[[Request], Awaitable[Response]]

_ROUTES = "fast_routes"


def add_fast_route(app: FastAPI, method: str, path: str, handler: FastHandler) -> None:
    """Answer `method` `path` with `handler` on the short path; the route itself must be
    declared in `app` too (its schema and access rule are what the handler honours)."""
    routes: dict[tuple[str, str], FastHandler] | None = getattr(app.state, _ROUTES, None)
    if routes is None:
        routes = {}
        setattr(app.state, _ROUTES, routes)
    routes[(method.upper(), path)] = handler


def take_short_path(app: FastAPI) -> None:
    """Put the short path outside `app`'s whole stack (built when the app first serves)."""
    build = app.build_middleware_stack

    def build_with_short_path() -> ASGIApp:
        return FastPath(build(), app)

    app.build_middleware_stack = build_with_short_path  # type: ignore[method-assign]


class FastPath:
    """The outermost ASGI layer of `app`: registered routes here, the rest to `stack`."""

    def __init__(self, stack: ASGIApp, app: FastAPI) -> None:
        self._stack = stack
        self._app = app
        self._routes: dict[tuple[str, str], FastHandler] = getattr(app.state, _ROUTES, {})
        self._declared: dict[tuple[str, str], APIRoute] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            handler = self._routes.get((scope["method"], scope["path"]))
            if handler is not None:
                await self._serve(handler, scope, receive, send)
                return
        await self._stack(scope, receive, send)

    async def _serve(
        self, handler: FastHandler, scope: Scope, receive: Receive, send: Send
    ) -> None:
        # What routing would have put in the scope: the app, the route (the query check reads
        # its declared parameters) and no path parameters.
        scope["app"] = self._app
        scope["route"] = self._route(scope["method"], scope["path"])
        scope.setdefault("path_params", {})
        request = Request(scope, receive, send)
        try:
            response = await handler(request)
        except Exception as error:  # noqa: BLE001 - answered as the full stack would answer it
            response = await self._answer(request, error)
        await response(scope, receive, send)

    def _route(self, method: str, path: str) -> APIRoute | None:
        key = (method, path)
        if key not in self._declared:
            found = [
                route
                for route in _api_routes(self._app.routes)
                if route.path == path and method in (route.methods or ())
            ]
            if not found:
                raise RuntimeError(f"{method} {path} takes the short path but is not declared")
            self._declared[key] = found[0]
        return self._declared[key]

    async def _answer(self, request: Request, error: Exception) -> Response:
        handlers = self._app.exception_handlers
        for kind in type(error).__mro__:
            handler = handlers.get(kind)
            if handler is not None:
                if kind is Exception:
                    log.error(
                        "exception in %s %s", request.method, request.url.path, exc_info=error
                    )
                response: Response = await handler(request, error)  # type: ignore[misc]
                return response
        raise error


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        included = getattr(route, "original_router", None)
        if included is not None:
            found.extend(_api_routes(included.routes))
    return found
