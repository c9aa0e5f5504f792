"""Alertmanager's read API, `GET /api/v2/alerts` and `GET /api/v2/status`, for amtool and karma.

Reads are open, as `GET /api/v1/alerts` is: API tokens guard writes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session, sessionmaker

from collector.alertmanager_view import (
    AlertSelection,
    InvalidSelection,
    alertmanager_status,
    gettable_alert,
)
from collector.firing import MAX_LISTED_ALERTS, firing_alerts
from core.errors import ApiError

__all__ = ["TRUNCATED_HEADER", "create_router"]

# Set on a list that a bound stopped (there is no room for a note in Alertmanager's body).
TRUNCATED_HEADER = "X-Slakeeper-Truncated"


def create_router(
    *,
    sessions: sessionmaker[Session],
    clock: Callable[[], datetime],
    version: str,
    started_at: datetime,
) -> APIRouter:
    """The read routes of Alertmanager's API v2, over the alerts slakeeper holds."""
    router = APIRouter(tags=["alertmanager"])

    @router.get(
        "/api/v2/alerts",
        summary="Firing alerts, as Alertmanager 0.25 lists them (amtool alert query)",
        description=(
            "Every alert is `active` (slakeeper holds no silences or inhibitions), sorted by "
            f"fingerprint; at most {MAX_LISTED_ALERTS} are listed, with the "
            f"`{TRUNCATED_HEADER}: true` header when there were more."
        ),
    )
    def get_alerts(
        response: Response,
        active: bool = True,
        silenced: bool = True,
        inhibited: bool = True,
        unprocessed: bool = True,
        filter: Annotated[
            list[str], Query(description='label matchers, e.g. service=~"pay.*"')
        ] = [],  # noqa: B006 - FastAPI copies defaults
        receiver: Annotated[
            str | None, Query(description="a regular expression the receiver name matches")
        ] = None,
    ) -> list[dict[str, Any]]:
        del silenced, inhibited, unprocessed  # they exclude nothing here; see AlertSelection
        try:
            selection = AlertSelection.parse(active=active, filters=filter, receiver=receiver)
        except InvalidSelection as error:
            raise ApiError(400, "bad_request", str(error), {"field": error.parameter}) from None
        with sessions() as session:
            listed = firing_alerts(session, selection)
        now = clock()
        if listed.truncated:
            response.headers[TRUNCATED_HEADER] = "true"
        return [gettable_alert(alert, now=now) for alert in listed.alerts]

    @router.get(
        "/api/v2/status",
        summary="Alertmanager's status, for amtool config show and cluster show",
    )
    def get_status() -> dict[str, Any]:
        return alertmanager_status(version=version, started_at=started_at)

    return router
