"""Operational routes: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from core.database import error_summary
from core.errors import error_response

__all__ = ["create_router"]


def create_router(
    *, engine: Engine, registry: CollectorRegistry, pipeline_alive: Callable[[], bool]
) -> APIRouter:
    """`/healthz`, `/readyz` and `/metrics`."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="The database is reachable and ingestion is running")
    def readyz() -> Response:
        if not pipeline_alive():
            return error_response(503, "not_ready", "the ingestion writer is not running")
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as error:
            message = f"database unavailable: {error_summary(error)}"
            return error_response(503, "database_unavailable", message)
        return Response(b'{"status":"ok"}', media_type="application/json")

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router
