"""Alert observations, deliveries, and how repeated observations of one instance combine.

An alert instance is identified by `(fingerprint, starts_at)`. Every push of it is an
observation; observations of one instance combine by these rules, whatever their order:
resolved wins over firing (a late firing never revives a resolved instance), the first
resolved observation fixes `ends_at`, and repeats only add to the receive count and move
`last_received_at`. The store applies the same rules when an instance already exists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

__all__ = [
    "AlertInstanceUpdate",
    "AlertObservation",
    "AlertStatus",
    "Delivery",
    "Source",
    "combine_observations",
    "place_observations",
    "slices",
]


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class Source(StrEnum):
    ALERTMANAGER = "alertmanager"
    PROMETHEUS = "prometheus"
    GRAFANA = "grafana"


# Observations and deliveries are values: nothing mutates them once built. They are not
# declared frozen because a frozen dataclass costs three times as much to build, and
# ingestion builds one per alert on the hot path.
@dataclass(slots=True)
class AlertObservation:
    """One alert as one push reported it, normalised; `starts_at` None means 'not given'."""

    fingerprint: str
    starts_at: datetime | None
    ends_at: datetime | None
    status: AlertStatus
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    generator_url: str
    source: Source
    received_at: datetime
    # The `externalURL` and `receiver` of the Alertmanager webhook that carried it, if one did.
    origin_url: str | None = None
    origin_receiver: str | None = None


@dataclass(slots=True)
class Delivery:
    """One push from an alert source: its envelope and its alerts."""

    source: Source
    received_at: datetime
    alerts: tuple[AlertObservation, ...]
    receiver: str | None = None
    status: str | None = None
    group_key: str | None = None
    external_url: str | None = None
    truncated_alerts: int = 0
    # A large push is written in slices (see `slices`): only its last slice records the
    # envelope, with the alert count of the whole push.
    records_envelope: bool = True
    envelope_alert_count: int | None = None


@dataclass(slots=True)
class AlertInstanceUpdate:
    """What a batch of observations contributes to one alert instance."""

    fingerprint: str
    starts_at: datetime
    status: AlertStatus
    ends_at: datetime | None
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    generator_url: str
    source: Source
    first_received_at: datetime
    last_received_at: datetime
    receive_count: int = 1
    service: str | None = None
    level: str | None = None
    priority: str | None = None
    category: str | None = None
    impact: str | None = None
    group_key: str | None = None
    origin_url: str | None = None
    origin_receiver: str | None = None

    @property
    def key(self) -> tuple[str, datetime]:
        return (self.fingerprint, self.starts_at)

    def absorb(self, later: AlertInstanceUpdate) -> None:
        """Fold a later observation of the same instance into this one."""
        if self.status is AlertStatus.FIRING and later.status is AlertStatus.RESOLVED:
            self.status = AlertStatus.RESOLVED
            self.ends_at = later.ends_at
        self.origin_url = self.origin_url or later.origin_url
        self.origin_receiver = self.origin_receiver or later.origin_receiver
        self.receive_count += later.receive_count
        self.first_received_at = min(self.first_received_at, later.first_received_at)
        self.last_received_at = max(self.last_received_at, later.last_received_at)


def place_observations(
    observations: Iterable[AlertObservation], firing_starts: Mapping[str, datetime]
) -> list[tuple[AlertObservation, datetime]]:
    """Give every observation the `starts_at` of the instance it belongs to.

    A source that leaves `startsAt` out (as `amtool` may) means the instance firing now for
    that label set (`firing_starts`); with none firing, the alert starts when it ends or when
    we heard of it. Such a resolve cannot end the instance before it started.
    """
    placed = []
    for observation in observations:
        starts_at = observation.starts_at
        if starts_at is None:
            starts_at = firing_starts.get(observation.fingerprint) or (
                observation.ends_at or observation.received_at
            )
            if observation.ends_at is not None and observation.ends_at < starts_at:
                observation = replace(observation, ends_at=starts_at)
        placed.append((observation, starts_at))
    return placed


def combine_observations(
    observations: Iterable[tuple[AlertObservation, datetime]],
) -> list[AlertInstanceUpdate]:
    """One update per instance, in key order (the order rows are locked in).

    Each observation comes with the `starts_at` it was resolved to.
    """
    by_key: dict[tuple[str, datetime], AlertInstanceUpdate] = {}
    for observation, starts_at in observations:
        update = AlertInstanceUpdate(
            fingerprint=observation.fingerprint,
            starts_at=starts_at,
            status=observation.status,
            ends_at=observation.ends_at if observation.status is AlertStatus.RESOLVED else None,
            labels=observation.labels,
            annotations=observation.annotations,
            generator_url=observation.generator_url,
            source=observation.source,
            first_received_at=observation.received_at,
            last_received_at=observation.received_at,
            origin_url=observation.origin_url,
            origin_receiver=observation.origin_receiver,
        )
        existing = by_key.get(update.key)
        if existing is None:
            by_key[update.key] = update
        else:
            existing.absorb(update)
    return [by_key[key] for key in sorted(by_key)]


def slices(
    delivery: Delivery, group_of: Callable[[AlertObservation], object], size: int
) -> list[Delivery]:
    """`delivery` as consecutive deliveries of about `size` alerts each, whole groups in each.

    A push of thousands of new groups in one transaction held the writer for seconds and
    every other push waited behind it; written slice by slice, a push arriving meanwhile is
    written between two slices. The alerts of one group (and so of one fingerprint) stay in
    one slice, in their order, so a group opens its incident at its worst at once.
    """
    if len(delivery.alerts) <= size:
        return [delivery]
    groups: dict[object, list[AlertObservation]] = {}
    for alert in delivery.alerts:
        groups.setdefault(group_of(alert), []).append(alert)
    parts: list[list[AlertObservation]] = [[]]
    for members in groups.values():
        if parts[-1] and len(parts[-1]) + len(members) > size:
            parts.append([])
        parts[-1].extend(members)
    last = len(parts) - 1
    return [
        replace(
            delivery,
            alerts=tuple(part),
            truncated_alerts=delivery.truncated_alerts if index == last else 0,
            records_envelope=index == last,
            envelope_alert_count=len(delivery.alerts),
        )
        for index, part in enumerate(parts)
    ]
