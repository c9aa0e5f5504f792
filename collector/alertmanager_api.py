"""Alertmanager's read API, `GET /api/v2/alerts` and `GET /api/v2/status`, for amtool and karma.

Reads are open, as `GET /api/v1/alerts` is: API tokens guard writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Response
from sqlalchemy.orm import Session, sessionmaker

from access.guard import Viewer
from collector.alertmanager_view import AlertSelection, alertmanager_status, gettable_alert
from collector.firing import MAX_LISTED_ALERTS, firing_alerts
from collector.resources import AlertmanagerStatus, GettableAlert
from core.binding import StateSlot
from core.errors import error_responses
from core.responses import JSONBody

__all__ = ["TRUNCATED_HEADER", "AlertmanagerView", "install", "router"]

# Set on a list that a bound stopped (there is no room for a note in Alertmanager's body).
TRUNCATED_HEADER = "X-Slakeeper-Truncated"


@dataclass(frozen=True, slots=True)
class AlertmanagerView:
    """What the read routes are bound to: the alerts held, the clock, the version shown."""

    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]
    version: str
    started_at: datetime


_SLOT = StateSlot[AlertmanagerView]("alertmanager_view")


def install(app: FastAPI, view: AlertmanagerView) -> None:
    """Serve the read routes of Alertmanager's API v2 in `app`, over `view`."""
    _SLOT.put(app, view)
    app.include_router(router)


Bound = Annotated[AlertmanagerView, Depends(_SLOT)]
router = APIRouter(tags=["alertmanager"])


@router.get(
    "/api/v2/alerts",
    summary="Firing alerts, as Alertmanager 0.25 lists them (amtool alert query)",
    description=(
        "Every alert is `active` (slakeeper holds no silences or inhibitions), sorted by "
        f"fingerprint; at most {MAX_LISTED_ALERTS} are listed, with the "
        f"`{TRUNCATED_HEADER}: true` header when there were more."
    ),
    response_model=list[GettableAlert],
    responses=error_responses(400, 401, 403, 503),
)
def get_alerts(
    _caller: Viewer,
    view: Bound,
    active: bool = True,
    silenced: bool = True,
    inhibited: bool = True,
    unprocessed: bool = True,
    filter: Annotated[list[str], Query(description='label matchers, e.g. service=~"pay.*"')] = [],  # noqa: B006 - FastAPI copies defaults
    receiver: Annotated[
        str | None, Query(description="a regular expression the receiver name matches")
    ] = None,
) -> Response:
    del silenced, inhibited, unprocessed  # they exclude nothing here; see AlertSelection
    selection = AlertSelection.parse(active=active, filters=filter, receiver=receiver)
    with view.sessions() as session:
        listed = firing_alerts(session, selection)
    now = view.clock()
    headers = {TRUNCATED_HEADER: "true"} if listed.truncated else None
    return JSONBody([gettable_alert(alert, now=now) for alert in listed.alerts], headers=headers)


@router.get(
    "/api/v2/status",
    summary="Alertmanager's status, for amtool config show and cluster show",
    response_model=AlertmanagerStatus,
    responses=error_responses(400, 401, 403, 503),
)
def get_status(view: Bound, _caller: Viewer) -> Response:
    return JSONBody(alertmanager_status(version=view.version, started_at=view.started_at))
