"""What an Alertmanager's API answers: `GET /api/v2/alerts` and `GET /api/v2/status`, read.

Pure: bytes in, values out (ValueError for an answer that is not Alertmanager's). Checked
against the real Alertmanager 0.25 (tests/fixtures/alertmanager_v2_alerts.json).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, TypeAdapter

from collector.schemas import Annotations, Fingerprint, Labels, Text, Timestamp

__all__ = [
    "AlertmanagerAlert",
    "AlertmanagerSnapshot",
    "comparable_url",
    "parse_alerts",
    "parse_started_at",
]


@dataclass(frozen=True, slots=True)
class AlertmanagerAlert:
    """One alert of `GET /api/v2/alerts`; its `ends_at` is only an expiry while it fires."""

    fingerprint: str
    starts_at: datetime
    ends_at: datetime | None
    labels: dict[str, str]
    annotations: dict[str, str]
    generator_url: str
    receivers: tuple[str, ...]
    suppressed: bool = False


@dataclass(frozen=True, slots=True)
class AlertmanagerSnapshot:
    """What Alertmanager listed, and when that Alertmanager process started."""

    alerts: tuple[AlertmanagerAlert, ...]
    started_at: datetime


def comparable_url(url: str) -> str:
    """`url` as two spellings of one Alertmanager compare: lower-case scheme and host, no
    default port, credentials, query or trailing slash (`HTTP://AM:80/x/` is `http://am/x`)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and (scheme, port) not in {("http", 80), ("https", 443)}:
        host = f"{host}:{port}"
    return f"{scheme}://{host}{parts.path.rstrip('/')}"


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


_Instant = Annotated[AwareDatetime, AfterValidator(_utc)]


class _Answer(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class _Receiver(_Answer):
    name: Text


class _AlertState(_Answer):
    state: Text


class _GettableAlert(_Answer):
    fingerprint: Fingerprint
    labels: Labels
    annotations: Annotations = {}
    startsAt: _Instant
    endsAt: Timestamp | None = None
    generatorURL: Text = ""
    receivers: list[_Receiver] = []
    status: _AlertState | None = None  # active, suppressed or unprocessed: all of them fire


class _Status(_Answer):
    uptime: _Instant


_GETTABLE_ALERTS = TypeAdapter(list[_GettableAlert])


def parse_alerts(body: bytes) -> tuple[AlertmanagerAlert, ...]:
    """The alerts of a `GET /api/v2/alerts` answer; ValueError if it is not one.

    One unreadable alert rejects them all: left out, it would look lost and be resolved.
    """
    return tuple(
        AlertmanagerAlert(
            fingerprint=alert.fingerprint,
            starts_at=alert.startsAt,
            ends_at=alert.endsAt,
            labels=alert.labels,
            annotations=alert.annotations,
            generator_url=alert.generatorURL,
            receivers=tuple(receiver.name for receiver in alert.receivers),
            suppressed=alert.status is not None and alert.status.state == "suppressed",
        )
        for alert in _GETTABLE_ALERTS.validate_json(body)
    )


def parse_started_at(body: bytes) -> datetime:
    """When the Alertmanager process started, from a `GET /api/v2/status` answer."""
    return _Status.model_validate_json(body).uptime
