"""Operational routes: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from access.guard import allowed, scrape
from core.binding import StateSlot
from core.database import error_summary
from core.errors import error_response, error_responses
from core.responses import JSONBody

__all__ = ["Probes", "Status", "install", "router"]


class Status(BaseModel):
    status: Literal["ok"]


@dataclass(frozen=True, slots=True)
class Probes:
    """What the operational routes look at: the database, the metrics, the ingestion writer."""

    engine: Engine
    registry: CollectorRegistry
    pipeline_alive: Callable[[], bool]


_SLOT = StateSlot[Probes]("probes")


def install(app: FastAPI, probes: Probes) -> None:
    """Serve `/healthz`, `/readyz` and `/metrics` in `app`."""
    _SLOT.put(app, probes)
    app.include_router(router)


Bound = Annotated[Probes, Depends(_SLOT)]
router = APIRouter(tags=["operations"])
_ANYONE = [Depends(allowed())]


@router.get(
    "/healthz",
    summary="The process is alive",
    dependencies=_ANYONE,
    response_model=Status,
    responses=error_responses(400),
)
async def healthz() -> Response:
    return JSONBody({"status": "ok"})


@router.get(
    "/readyz",
    summary="The database is reachable and ingestion is running",
    dependencies=_ANYONE,
    response_model=Status,
    responses=error_responses(400, 503),
)
def readyz(probes: Bound) -> Response:
    if not probes.pipeline_alive():
        return error_response(503, "not_ready", "the ingestion writer is not running")
    try:
        with probes.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        message = f"database unavailable: {error_summary(error)}"
        return error_response(503, "database_unavailable", message)
    return Response(b'{"status":"ok"}', media_type="application/json")


@router.get(
    "/metrics",
    summary="Prometheus metrics (with SLAKEEPER_METRICS_NEED_CREDENTIAL, a viewer's)",
    dependencies=[Depends(scrape)],
    response_class=Response,
    responses={
        200: {
            "description": f"The text exposition format ({CONTENT_TYPE_LATEST})",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        **error_responses(400, 401, 403, 503),
    },
)
def metrics(probes: Bound) -> Response:
    return Response(generate_latest(probes.registry), media_type=CONTENT_TYPE_LATEST)
