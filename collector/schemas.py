"""The payloads alert sources push, as pydantic models validated straight from JSON bytes.

Field names are the sources' own (camelCase). Unknown fields are ignored, so newer
sources keep working; wrong types, missing fields and unknown statuses are rejected.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    TypeAdapter,
    ValidationInfo,
    model_validator,
)

from core.bounds import bounded_instant, storable_text

__all__ = [
    "NUL_FREE",
    "AlertmanagerWebhook",
    "GrafanaWebhook",
    "PostableAlert",
    "PostableAlerts",
    "WebhookAlert",
    "validation_context",
]

# Go's zero time: what Alertmanager and Grafana send for "no end yet".
_GO_ZERO_YEAR = 1
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def _utc_or_none(value: datetime) -> datetime | None:
    if value.year == _GO_ZERO_YEAR:
        return None
    return bounded_instant(value)


# The validation context of a JSON body with no `\u0000` escape: JSON can carry a NUL in a
# string no other way, so none of its strings needs looking at for one.
NUL_FREE = {"nul_free": True}


def validation_context(body: bytes) -> dict[str, bool] | None:
    """The context to validate `body` in: NUL_FREE when it cannot hold a NUL."""
    return NUL_FREE if b"\\u0000" not in body else None


def _clean_label_set(value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
    # Fast paths first: a payload's label sets are checked once per alert.
    if "" in value:
        raise ValueError("label names must not be empty")
    if info.context is not NUL_FREE and (
        "\x00" in "".join(value) or "\x00" in "".join(value.values())
    ):
        raise ValueError("a label name or value contains a NUL character")
    if "" not in value.values():
        return value
    # As in Prometheus and Alertmanager, an empty value means the label is absent.
    return {name: text for name, text in value.items() if text != ""}


def _labels(value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
    cleaned = _clean_label_set(value, info)
    if not cleaned:
        raise ValueError("at least one label with a non-empty value is required")
    return cleaned


def _prometheus_label_names(value: dict[str, str]) -> dict[str, str]:
    for name in value:
        if not _LABEL_NAME.fullmatch(name):
            raise ValueError(f"invalid label name {name!r}")
    return value


def _absent_if_empty(value: object) -> object:
    # Some senders write "" for "no fingerprint": compute it, as for a missing one.
    return None if value == "" else value


Timestamp = Annotated[AwareDatetime, Strict(), AfterValidator(_utc_or_none)]
Text = Annotated[str, AfterValidator(storable_text)]
Annotations = Annotated[dict[str, str], AfterValidator(_clean_label_set)]
Labels = Annotated[dict[str, str], AfterValidator(_labels)]
PrometheusLabels = Annotated[Labels, AfterValidator(_prometheus_label_names)]
Fingerprint = Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
OptionalFingerprint = Annotated[Fingerprint | None, BeforeValidator(_absent_if_empty)]
# Alertmanager counts truncated alerts in a uint64; the database holds a signed BIGINT.
TruncatedCount = Annotated[int, Field(ge=0, le=2**63 - 1)]


class _Payload(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class WebhookAlert(_Payload):
    """One alert of an Alertmanager (or Grafana) webhook."""

    status: Literal["firing", "resolved"]
    labels: Labels
    annotations: Annotations = Field(default_factory=dict)
    startsAt: Timestamp | None
    endsAt: Timestamp | None = None
    generatorURL: Text = ""
    fingerprint: OptionalFingerprint = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> WebhookAlert:
        if (
            self.status == "resolved"
            and self.startsAt is not None
            and self.endsAt is not None
            and self.endsAt < self.startsAt
        ):
            raise ValueError("endsAt is before startsAt")
        return self


class _WebhookEnvelope(_Payload):
    status: Literal["firing", "resolved"] | None = None
    receiver: Text = ""
    alerts: list[WebhookAlert]
    externalURL: Text = ""
    groupKey: Text = ""
    truncatedAlerts: TruncatedCount = 0


class AlertmanagerWebhook(_WebhookEnvelope):
    """Alertmanager's webhook, version 4."""

    version: Literal["4"]


class GrafanaWebhook(_WebhookEnvelope):
    """Grafana alerting's webhook, version 1 (Alertmanager's shape plus Grafana's fields)."""

    version: Literal["1"]
    orgId: int | None = None


class PostableAlert(_Payload):
    """One alert as Prometheus posts it to Alertmanager's `POST /api/v2/alerts`."""

    labels: PrometheusLabels
    annotations: Annotations = Field(default_factory=dict)
    startsAt: Timestamp | None = None
    endsAt: Timestamp | None = None
    generatorURL: Text = ""

    @model_validator(mode="after")
    def _ends_after_start(self) -> PostableAlert:
        if self.startsAt is not None and self.endsAt is not None and self.endsAt < self.startsAt:
            raise ValueError("endsAt is before startsAt")
        return self


PostableAlerts: TypeAdapter[list[PostableAlert]] = TypeAdapter(list[PostableAlert])
