"""The JSON error body of every failure, `{"error": {"code", "message", "details"}}`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from sqlalchemy import exc
from starlette.exceptions import HTTPException

from core.database import DatabaseUnavailable, error_summary, is_unavailable_error
from core.responses import JSONBody
from core.wire import InvalidCursor
from core.writer import WriterOverloaded, WriterStopped

__all__ = [
    "ApiError",
    "ErrorBody",
    "ErrorStatus",
    "ErrorTable",
    "error_responses",
    "field_path",
    "install_error_handlers",
    "refusal",
    "validation_details",
]

log = logging.getLogger(__name__)
Failure = TypeVar("Failure", bound=Exception)

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
    429: "too_many_requests",
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


class ErrorContent(BaseModel):
    code: str
    message: str
    details: Any


class ErrorBody(BaseModel):
    """The body of every error answer; `details` is null or what the code says more."""

    error: ErrorContent


@dataclass(frozen=True, slots=True)
class ErrorStatus(Generic[Failure]):
    """How a domain exception is answered: status, code, and the details it adds."""

    status: int
    code: str
    details: Callable[[Failure], Any] | None = None
    message: Callable[[Failure], str] = str

    def answer(self, error: Failure) -> JSONBody:
        details = self.details(error) if self.details is not None else None
        return error_response(self.status, self.code, self.message(error), details)


# Each domain declares its table beside its routes; the application installs them all.
ErrorTable = Mapping[type[Exception], ErrorStatus[Any]]

_CORE_ERRORS: ErrorTable = {InvalidCursor: ErrorStatus(400, "bad_request")}

_DESCRIPTIONS = {
    400: "Bad request: an unknown or malformed query parameter, path value or body",
    401: "A valid credential is required (Authorization: Bearer, basic auth, or a session)",
    403: "The caller's role may not do this, or a session write lacks its CSRF token",
    404: "No such resource",
    409: "The resource's state does not allow this",
    413: "The body is larger than the server accepts",
    415: "The body is not JSON",
    422: "A value that cannot be used",
    429: "Too many failed attempts: wait, then try again",
    503: "The database is unavailable, or the server overloaded or stopping: retry later",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route that answers `statuses` with the error body."""
    return {
        status: {"model": ErrorBody, "description": _DESCRIPTIONS[status]} for status in statuses
    }


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


def install_error_handlers(app: FastAPI, tables: Iterable[ErrorTable] = ()) -> None:
    """Map domain and framework errors to the JSON error body, once, at the edge.

    `tables` are the domains' (exception class → status); a subclass answers as its class.
    """
    for table in (_CORE_ERRORS, *tables):
        for kind, status in table.items():
            app.add_exception_handler(kind, _answering(status))
    _document_validation_as_bad_request(app)

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


def _answering(status: ErrorStatus[Any]) -> Callable[[Request, Exception], Any]:
    async def handler(_request: Request, error: Exception) -> JSONBody:
        return status.answer(error)

    return handler


def _document_validation_as_bad_request(app: FastAPI) -> None:
    """Drop the 422 `HTTPValidationError` FastAPI documents: a request it refuses gets 400."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.get("responses", {})
                content = responses.get("422", {}).get("content", {}).get("application/json", {})
                if content.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                    del responses["422"]
        for name in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(name, None)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def refusal(error: Exception, tables: Iterable[ErrorTable]) -> ApiError | None:
    """The answer the API gives `error` (an ApiError, or a domain error of `tables`), for a
    page that shows the refusal instead of answering JSON; None for an unexpected error."""
    if isinstance(error, ApiError):
        return error
    if isinstance(error, ValidationError):
        problems = validation_details(error)
        message = "; ".join(f"{d['field']}: {d['message']}" for d in problems)
        return ApiError(422, "invalid_payload", message, problems)
    for table in tables:
        for kind, status in table.items():
            if isinstance(error, kind):
                details = status.details(error) if status.details is not None else None
                return ApiError(status.status, status.code, status.message(error), details)
    return None
