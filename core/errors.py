"""The JSON error body of every failure, `{"error": {"code", "message", "details"}}`."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import exc
from starlette.exceptions import HTTPException

from core.database import DatabaseUnavailable, error_summary, is_unavailable_error
from core.responses import JSONBody
from core.writer import WriterOverloaded, WriterStopped

__all__ = ["ApiError", "field_path", "install_error_handlers", "validation_details"]

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_payload",
    503: "unavailable",
}


class ApiError(Exception):
    """An error to answer with: status, machine-readable code, message, details."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONBody:
    body = {"error": {"code": code, "message": message, "details": details}}
    return JSONBody(body, status_code=status, headers=headers)


def field_path(loc: tuple[int | str, ...]) -> str:
    """`('alerts', 0, 'startsAt')` as `alerts[0].startsAt`; `[2].labels` for arrays."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path or "(body)"


def validation_details(error: ValidationError | RequestValidationError) -> list[dict[str, str]]:
    """One `{field, message, type}` per problem, in the sender's field names."""
    details = []
    for problem in error.errors():
        loc = tuple(part for part in problem["loc"] if not _is_pydantic_internal(part))
        details.append(
            {"field": field_path(loc), "message": problem["msg"], "type": problem["type"]}
        )
    return details


def _is_pydantic_internal(part: int | str) -> bool:
    # Validators in Annotated types add their function names to `loc`.
    return isinstance(part, str) and (part.startswith("function-") or part == "body")


def _unavailable(reason: str) -> JSONBody:
    # 503 with Retry-After: Alertmanager and Prometheus send the push again.
    return error_response(
        503, "database_unavailable", f"database unavailable: {reason}", None, {"Retry-After": "5"}
    )


def install_error_handlers(app: FastAPI) -> None:
    """Map domain and framework errors to the JSON error body, once, at the edge."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, error: ApiError) -> JSONBody:
        return error_response(error.status, error.code, error.message, error.details, error.headers)

    @app.exception_handler(RequestValidationError)
    async def _bad_query(_request: Request, error: RequestValidationError) -> JSONBody:
        details = validation_details(error)
        message = "; ".join(f"{d['field']}: {d['message']}" for d in details)
        return error_response(400, "bad_request", message, details)

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, error: HTTPException) -> JSONBody:
        code = _HTTP_CODES.get(error.status_code, "error")
        headers = dict(error.headers) if error.headers else None
        return error_response(error.status_code, code, str(error.detail), None, headers)

    @app.exception_handler(DatabaseUnavailable)
    async def _database(_request: Request, error: DatabaseUnavailable) -> JSONBody:
        return _unavailable(str(error))

    @app.exception_handler(exc.SQLAlchemyError)
    async def _sql(_request: Request, error: exc.SQLAlchemyError) -> JSONBody:
        if is_unavailable_error(error):
            return _unavailable(error_summary(error))
        log.error("database error", exc_info=error)
        return error_response(500, "internal_error", "internal error: see the server log")

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, _error: Exception) -> JSONBody:
        # Starlette logs the exception itself after this answer.
        return error_response(500, "internal_error", "internal error: see the server log")

    @app.exception_handler(WriterOverloaded)
    async def _overloaded(_request: Request, error: WriterOverloaded) -> JSONBody:
        return error_response(
            503, "overloaded", f"ingestion queue full: {error}", None, {"Retry-After": "1"}
        )

    @app.exception_handler(WriterStopped)
    async def _stopping(_request: Request, error: WriterStopped) -> JSONBody:
        return error_response(
            503, "shutting_down", "the server is shutting down", None, {"Retry-After": "5"}
        )
