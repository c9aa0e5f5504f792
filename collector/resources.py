"""What the collector's routes answer: the documented shapes, and the alert as the API shows it.

The models document the bodies in `/openapi.json`; routes render plain dicts with orjson
(the list of alerts is a hot path), which tests and the schemathesis suite hold to these
models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from collector.alerts import AlertStatus, Source
from collector.models import AlertInstance
from core.wire import rfc3339

__all__ = [
    "AlertPage",
    "AlertResource",
    "AlertmanagerStatus",
    "GettableAlert",
    "Received",
    "alert_resource",
]


class Received(BaseModel):
    """A push accepted and stored."""

    received: int = Field(description="the alerts the push held")


class AlertResource(BaseModel):
    """One alert instance: a label set's firing from `starts_at`, with its classification."""

    id: int
    fingerprint: str
    starts_at: datetime
    ends_at: datetime | None
    status: AlertStatus
    labels: dict[str, str]
    annotations: dict[str, str]
    generator_url: str
    source: Source
    receive_count: int
    first_received_at: datetime
    last_received_at: datetime
    incident_id: int | None
    service: str | None
    level: str | None
    priority: str | None
    category: str | None
    impact: str | None
    group_key: str | None


class AlertPage(BaseModel):
    """A page of alert instances, newest first; `next_cursor` continues it."""

    items: list[AlertResource]
    next_cursor: str | None


def alert_resource(alert: AlertInstance) -> dict[str, Any]:
    """An alert instance as the API shows it (`AlertResource`)."""
    return {
        "id": alert.id,
        "fingerprint": alert.fingerprint,
        "starts_at": rfc3339(alert.starts_at),
        "ends_at": rfc3339(alert.ends_at),
        "status": alert.status,
        "labels": alert.labels,
        "annotations": alert.annotations,
        "generator_url": alert.generator_url,
        "source": alert.source,
        "receive_count": alert.receive_count,
        "first_received_at": rfc3339(alert.first_received_at),
        "last_received_at": rfc3339(alert.last_received_at),
        "incident_id": alert.incident_id,
        "service": alert.service,
        "level": alert.level,
        "priority": alert.priority,
        "category": alert.category,
        "impact": alert.impact,
        "group_key": alert.group_key,
    }


class Receiver(BaseModel):
    name: str


class AlertState(BaseModel):
    inhibitedBy: list[str]
    silencedBy: list[str]
    state: str = Field(description="always `active`: slakeeper holds no silences")


class GettableAlert(BaseModel):
    """Alertmanager 0.25's `gettableAlert`; `generatorURL` is omitted when empty."""

    annotations: dict[str, str]
    endsAt: datetime
    fingerprint: str
    receivers: list[Receiver]
    startsAt: datetime
    status: AlertState
    updatedAt: datetime
    generatorURL: str = Field(default="", description="omitted when empty")
    labels: dict[str, str]


class ClusterStatus(BaseModel):
    peers: list[Any]
    status: str


class PresentedConfig(BaseModel):
    original: str


class VersionInfo(BaseModel):
    branch: str
    buildDate: str
    buildUser: str
    goVersion: str
    revision: str
    version: str


class AlertmanagerStatus(BaseModel):
    """Alertmanager 0.25's `alertmanagerStatus`, as `amtool` reads it."""

    cluster: ClusterStatus
    config: PresentedConfig
    uptime: datetime
    versionInfo: VersionInfo
