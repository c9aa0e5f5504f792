"""The API's own documentation (`/docs`, `/openapi.json`, Swagger UI's files) needs a viewer,
as every other route does; they are not routes of a domain, so a small middleware guards them."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from access.guard import api_routes, caller_of, requirement
from access.roles import Role
from core.errors import ApiError, error_response

__all__ = ["document_credentials", "guard_docs"]

# How a caller may authenticate, as the OpenAPI document says it (Swagger UI's "Authorize").
SECURITY_SCHEMES = {
    "token": {
        "type": "http",
        "scheme": "bearer",
        "description": "a token from `slakeeper tokens create` or `POST /api/v1/tokens`",
    },
    "basic": {
        "type": "http",
        "scheme": "basic",
        "description": "any username, a token as password",
    },
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "slakeeper_session",
        "description": "a console session (`POST /api/v1/login`); writes add `X-CSRF-Token`",
    },
}


def guard_docs(app: FastAPI) -> None:
    """Require a viewer's credential for the documentation routes of `app`."""
    prefixes = tuple(
        path
        for path in (app.docs_url, app.openapi_url, "/docs", "/static-offline-docs")
        if path is not None
    )
    app.add_middleware(_DocsGuard, prefixes=prefixes)


def document_credentials(app: FastAPI) -> None:
    """Declare the credentials in `/openapi.json`, on every operation that needs one (not the
    probes, login, or /metrics, which is open unless configured otherwise)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()
        document.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        guarded = {
            (method.lower(), route.path)
            for route in api_routes(app.routes)
            for method in route.methods or ()
            if requirement(route) not in ("anyone", "metrics")
        }
        for path, item in document["paths"].items():
            for method, operation in item.items():
                if (method, path) in guarded:
                    operation["security"] = [{name: []} for name in SECURITY_SCHEMES]
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


class _DocsGuard:
    def __init__(self, app: ASGIApp, prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefixes):
            try:
                await caller_of(Request(scope), Role.VIEWER)
            except ApiError as refused:
                answer = error_response(
                    refused.status, refused.code, refused.message, None, refused.headers
                )
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)
