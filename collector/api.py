"""HTTP routes of the collector: the three push endpoints and `GET /api/v1/alerts`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, Protocol, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy.orm import Session, sessionmaker

from access.guard import Viewer, caller_of, require
from access.roles import INGEST
from collector.admission import InflightBytes, Overloaded
from collector.alertmanager_view import InvalidSelection, parse_filters
from collector.alerts import AlertStatus, Delivery, Source
from collector.listing import list_alerts
from collector.normalise import (
    from_alertmanager_webhook,
    from_grafana_webhook,
    from_prometheus_alerts,
)
from collector.resources import AlertPage, Received, alert_resource
from collector.schemas import (
    AlertmanagerWebhook,
    GrafanaWebhook,
    PostableAlerts,
    validation_context,
)
from collector.store import AlertQuery
from core.binding import StateSlot
from core.bounds import MAX_ROW_ID, Instant
from core.errors import ApiError, ErrorStatus, ErrorTable, error_responses, validation_details
from core.fastpath import FastHandler, add_fast_route
from core.responses import JSONBody
from core.strict_query import reject_unknown_query_parameters
from core.wire import decode_cursor, encode_cursor

__all__ = [
    "ERRORS",
    "DeliverySink",
    "Ingestion",
    "install",
    "read_json_body",
    "reserved_bytes",
    "router",
]

Model = TypeVar("Model")


class DeliverySink(Protocol):
    def ingest(self, delivery: Delivery) -> Awaitable[None]: ...


async def read_json_body(
    request: Request, limit: int, budget: InflightBytes | None = None
) -> bytes:
    """The request body, refused when it is not JSON (415), too large (413) or empty (400).

    With a `budget`, the body's bytes are reserved in it (and the request refused with 503
    when they do not fit) and stay reserved until the caller releases `reserved_bytes(request)`.
    """
    content_type = request.headers.get("content-type")
    if content_type is not None:
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type != "application/json" and not media_type.endswith("+json"):
            raise ApiError(
                415, "unsupported_media_type", f"expected application/json, got {media_type!r}"
            )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "payload_too_large", f"body of {declared} bytes exceeds {limit}")
    if budget is not None and declared.isdigit():
        _reserve(request, budget, int(declared))
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise ApiError(413, "payload_too_large", f"body exceeds {limit} bytes")
        if budget is not None and total > reserved_bytes(request):
            _reserve(request, budget, total - reserved_bytes(request))
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body.strip():
        raise ApiError(400, "empty_body", "the request body is empty; expected JSON")
    return body


def reserved_bytes(request: Request) -> int:
    """The bytes `read_json_body` reserved for `request` in its budget."""
    reserved: int = request.scope.get(_RESERVED, 0)
    return reserved


def _reserve(request: Request, budget: InflightBytes, size: int) -> None:
    try:
        budget.reserve(size)
    except Overloaded as error:
        raise ApiError(
            503,
            "overloaded",
            f"too many bytes of pushes in flight: {error}; retry later",
            {"in_flight_bytes": budget.in_flight, "max_inflight_bytes": budget.limit},
            {"Retry-After": "2"},
        ) from None
    request.scope[_RESERVED] = reserved_bytes(request) + size


_RESERVED = "slakeeper.reserved_bytes"


def parse_payload(
    adapter: TypeAdapter[Model], body: bytes, what: str, invalid_status: int = 422
) -> Model:
    """Validate `body` as `what`; malformed JSON is a 400, an invalid field `invalid_status`."""
    try:
        return adapter.validate_json(body, context=validation_context(body))
    except ValidationError as error:
        details = validation_details(error)
        if any(detail["type"] == "json_invalid" for detail in details):
            raise ApiError(
                400, "malformed_json", f"malformed JSON: {details[0]['message']}"
            ) from None
        first = details[0]
        message = f"invalid {what}: {first['field']}: {first['message']}"
        raise ApiError(invalid_status, "invalid_payload", message, details) from None


_ALERTMANAGER = TypeAdapter(AlertmanagerWebhook)
_GRAFANA = TypeAdapter(GrafanaWebhook)


def _body_schema(model: type[BaseModel] | TypeAdapter[Any]) -> dict[str, Any]:
    schema = model.model_json_schema() if isinstance(model, type) else model.json_schema()
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": inline(schema)}},
        }
    }


ERRORS: ErrorTable = {
    InvalidSelection: ErrorStatus(
        400, "bad_request", details=lambda error: {"field": error.parameter}
    ),
}


@dataclass(frozen=True, slots=True)
class Ingestion:
    """What the collector's routes are bound to: where deliveries go, how requests are checked."""

    sink: DeliverySink
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]
    max_body_bytes: int
    budget: InflightBytes | None = None

    async def receive(
        self,
        request: Request,
        adapter: TypeAdapter[Model],
        what: str,
        normalise: Callable[..., Delivery],
        invalid_status: int = 422,
    ) -> Delivery:
        """Read, validate, normalise and store one push; its bytes count until it is answered."""
        budget = self.budget
        try:
            body = await read_json_body(request, self.max_body_bytes, budget)
            payload = parse_payload(adapter, body, what, invalid_status)
            del body  # the parsed payload is what is kept from here
            delivery: Delivery = normalise(payload, now=self.clock())
            del payload
            await self.sink.ingest(delivery)
            return delivery
        finally:
            # Answered (stored or refused): its bytes no longer count against the ceiling.
            if budget is not None and reserved_bytes(request):
                budget.release(reserved_bytes(request))
                request.scope[_RESERVED] = 0


_SLOT = StateSlot[Ingestion]("ingestion")


async def _alertmanager(request: Request, ingestion: Ingestion) -> Response:
    delivery = await ingestion.receive(
        request, _ALERTMANAGER, "Alertmanager webhook", from_alertmanager_webhook
    )
    return JSONBody({"received": len(delivery.alerts)})


async def _grafana(request: Request, ingestion: Ingestion) -> Response:
    delivery = await ingestion.receive(request, _GRAFANA, "Grafana webhook", from_grafana_webhook)
    return JSONBody({"received": len(delivery.alerts)})


async def _prometheus(request: Request, ingestion: Ingestion) -> Response:
    # As Alertmanager: an empty 200 on success, 400 for an invalid alert.
    await ingestion.receive(request, PostableAlerts, "alert list", from_prometheus_alerts, 400)
    return Response(status_code=200)


Push = Callable[[Request, Ingestion], Awaitable[Response]]
# Each push route, answered on the application's short path (`core.fastpath`) as well: what
# its dependencies do (the query check, then the ingest scope), then the same function.
_PUSHES: dict[str, Push] = {
    "/api/v1/webhooks/alertmanager": _alertmanager,
    "/api/v1/webhooks/grafana": _grafana,
    "/api/v2/alerts": _prometheus,
}


def _short_path(push: Push, ingestion: Ingestion) -> FastHandler:
    async def handle(request: Request) -> Response:
        await reject_unknown_query_parameters(request)
        await caller_of(request, INGEST)
        return await push(request, ingestion)

    return handle


def install(app: FastAPI, ingestion: Ingestion) -> None:
    """Serve the collector's routes in `app`, bound to `ingestion`."""
    _SLOT.put(app, ingestion)
    app.include_router(router)
    for path, push in _PUSHES.items():
        add_fast_route(app, "POST", path, _short_path(push, ingestion))


Bound = Annotated[Ingestion, Depends(_SLOT)]
router = APIRouter()
_INGEST = [Depends(require(INGEST))]
_PUSH_ERRORS = error_responses(400, 401, 403, 413, 415, 422, 503)


@router.post(
    "/api/v1/webhooks/alertmanager",
    tags=["ingestion"],
    dependencies=_INGEST,
    summary="Alertmanager webhook (version 4)",
    openapi_extra=_body_schema(AlertmanagerWebhook),
    response_model=Received,
    responses=_PUSH_ERRORS,
)
async def alertmanager_webhook(request: Request, ingestion: Bound) -> Response:
    return await _alertmanager(request, ingestion)


@router.post(
    "/api/v1/webhooks/grafana",
    tags=["ingestion"],
    dependencies=_INGEST,
    summary="Grafana alerting webhook (version 1)",
    openapi_extra=_body_schema(GrafanaWebhook),
    response_model=Received,
    responses=_PUSH_ERRORS,
)
async def grafana_webhook(request: Request, ingestion: Bound) -> Response:
    return await _grafana(request, ingestion)


@router.post(
    "/api/v2/alerts",
    tags=["ingestion"],
    dependencies=_INGEST,
    summary="Alertmanager API v2 alerts, as Prometheus posts them",
    openapi_extra=_body_schema(PostableAlerts),
    response_class=Response,
    responses={
        200: {"description": "Stored: an empty body, as Alertmanager answers"},
        **error_responses(400, 401, 403, 413, 415, 503),
    },
)
async def prometheus_alerts(request: Request, ingestion: Bound) -> Response:
    return await _prometheus(request, ingestion)


@router.get(
    "/api/v1/alerts",
    tags=["alerts"],
    summary="Alert instances, newest first",
    response_model=AlertPage,
    responses=error_responses(400, 401, 403, 503),
)
def get_alerts(
    ingestion: Bound,
    _caller: Viewer,
    status: Literal["firing", "resolved"] | None = None,
    fingerprint: str | None = None,
    service: str | None = None,
    level: str | None = None,
    priority: str | None = None,
    impact: Literal["outage", "degraded", "none"] | None = None,
    category: str | None = None,
    source: Source | None = None,
    incident_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
    filter: Annotated[
        list[str], Query(description='label matchers, e.g. severity=~"critical|page"')
    ] = [],  # noqa: B006 - FastAPI copies defaults
    since: Instant | None = None,
    until: Instant | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> Response:
    query = AlertQuery(
        status=AlertStatus(status) if status else None,
        fingerprint=fingerprint,
        service=service,
        level=level,
        priority=priority,
        impact=impact,
        category=category,
        source=source.value if source else None,
        incident_id=incident_id,
        matchers=parse_filters(filter),
        since=since,
        until=until,
        after_id=decode_cursor(cursor) if cursor else None,
        limit=limit,
    )
    with ingestion.sessions() as session:
        rows, next_after = list_alerts(session, query)
        items = [alert_resource(row) for row in rows]
    return JSONBody(
        {"items": items, "next_cursor": encode_cursor(next_after) if next_after else None}
    )
