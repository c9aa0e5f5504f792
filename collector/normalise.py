"""From a source's payload to a `Delivery` of normalised alert observations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from collector.alerts import AlertObservation, AlertStatus, Delivery, Source
from collector.fingerprint import labels_fingerprint
from collector.schemas import AlertmanagerWebhook, GrafanaWebhook, PostableAlert, WebhookAlert

__all__ = ["from_alertmanager_webhook", "from_grafana_webhook", "from_prometheus_alerts"]


def from_alertmanager_webhook(payload: AlertmanagerWebhook, *, now: datetime) -> Delivery:
    """Normalise an Alertmanager webhook received at `now`."""
    return _from_webhook(payload, Source.ALERTMANAGER, now)


def from_grafana_webhook(payload: GrafanaWebhook, *, now: datetime) -> Delivery:
    """Normalise a Grafana alerting webhook received at `now`."""
    return _from_webhook(payload, Source.GRAFANA, now)


def from_prometheus_alerts(alerts: Sequence[PostableAlert], *, now: datetime) -> Delivery:
    """Normalise Prometheus' push: an alert is resolved when its `endsAt` is not after `now`."""
    observations = []
    for alert in alerts:
        resolved = alert.endsAt is not None and alert.endsAt <= now
        observations.append(
            AlertObservation(
                fingerprint=labels_fingerprint(alert.labels),
                starts_at=alert.startsAt,
                ends_at=alert.endsAt if resolved else None,
                status=AlertStatus.RESOLVED if resolved else AlertStatus.FIRING,
                labels=alert.labels,
                annotations=alert.annotations,
                generator_url=alert.generatorURL,
                source=Source.PROMETHEUS,
                received_at=now,
            )
        )
    return Delivery(source=Source.PROMETHEUS, received_at=now, alerts=tuple(observations))


def _from_webhook(
    payload: AlertmanagerWebhook | GrafanaWebhook, source: Source, now: datetime
) -> Delivery:
    return Delivery(
        source=source,
        received_at=now,
        alerts=tuple(
            _webhook_observation(alert, source, now, payload.externalURL, payload.receiver)
            for alert in payload.alerts
        ),
        receiver=payload.receiver or None,
        status=payload.status,
        group_key=payload.groupKey or None,
        external_url=payload.externalURL or None,
        truncated_alerts=payload.truncatedAlerts,
    )


_STATUSES = {status.value: status for status in AlertStatus}


def _webhook_observation(
    alert: WebhookAlert, source: Source, now: datetime, external_url: str, receiver: str
) -> AlertObservation:
    status = _STATUSES[alert.status]
    ends_at = None
    if status is AlertStatus.RESOLVED:
        # A resolved alert without an end time ended, at the latest, when we heard of it.
        ends_at = alert.endsAt or now
    return AlertObservation(
        fingerprint=alert.fingerprint or labels_fingerprint(alert.labels),
        starts_at=alert.startsAt,
        ends_at=ends_at,
        status=status,
        labels=alert.labels,
        annotations=alert.annotations,
        generator_url=alert.generatorURL,
        source=source,
        received_at=now,
        origin_url=external_url or None,
        origin_receiver=receiver or None,
    )
