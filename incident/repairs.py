"""The repairs reconciliation makes, decided from what Alertmanager lists and slakeeper holds.

Pure: `plan_repairs` takes both lists and `now` and returns the observations to ingest.
See `incident.reconcile` for why each rule is what it is.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from collector.alertmanager_answers import AlertmanagerAlert, comparable_url
from collector.alerts import AlertObservation, AlertStatus, Source

__all__ = [
    "DEFAULT_GRACE",
    "RECEIVER",
    "HeldInstance",
    "Origin",
    "RepairKind",
    "RepairPlan",
    "plan_repairs",
]

DEFAULT_GRACE = timedelta(minutes=5)
RECEIVER = "reconciliation"  # the receiver of what reconciliation ingests


class RepairKind(StrEnum):
    MISSING_FIRING = "missing_firing"
    MISSING_RESOLVED = "missing_resolved"
    LOST_RESOLVED = "lost_resolved"


@dataclass(frozen=True, slots=True)
class HeldInstance:
    """An instance slakeeper holds as firing and first heard of from an Alertmanager: the
    `origin_url`/`origin_receiver` of the webhook that brought it, and the Alertmanager
    reconciliation found listing it (`listed_by`)."""

    fingerprint: str
    starts_at: datetime
    last_received_at: datetime
    labels: dict[str, str]
    annotations: dict[str, str]
    generator_url: str
    origin_url: str | None = None
    origin_receiver: str | None = None
    listed_by: str | None = None


@dataclass(frozen=True, slots=True)
class Origin:
    """Which Alertmanager is reconciled: the URL it is read at (`url`, comparable) and every
    URL its webhooks may carry as `externalURL` (`external_urls`, comparable, `url` among
    them); with `receivers`, only webhooks of those receivers count as its deliveries."""

    url: str
    external_urls: frozenset[str]
    receivers: frozenset[str] | None = None

    @classmethod
    def of(
        cls,
        alertmanager_url: str,
        external_urls: Iterable[str] = (),
        receivers: Collection[str] | None = None,
    ) -> Origin:
        url = comparable_url(alertmanager_url)
        return cls(
            url,
            frozenset({url, *map(comparable_url, external_urls)}),
            frozenset(receivers) if receivers else None,
        )

    def delivered(self, held: HeldInstance) -> bool:
        """Whether `held` passed through this Alertmanager, so its list speaks for it."""
        if held.listed_by is not None and comparable_url(held.listed_by) == self.url:
            return True
        if held.origin_url is None or comparable_url(held.origin_url) not in self.external_urls:
            return False
        return (
            self.receivers is None
            or held.origin_receiver == RECEIVER
            or held.origin_receiver in self.receivers
        )


@dataclass(frozen=True, slots=True)
class RepairPlan:
    """Observations to ingest (`missing` instances, `lost` resolutions), how many instances
    the grace kept firing, and why no lost resolved was looked for, if none was; the held
    instances this Alertmanager lists that are to be marked as `listed` by it, and how many
    held instances were left alone as `foreign` (not delivered by it)."""

    missing: tuple[AlertObservation, ...]
    lost: tuple[AlertObservation, ...]
    held_back: int
    skipped_reason: str | None
    listed: tuple[tuple[str, datetime], ...] = ()
    foreign: int = 0


def _millisecond(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)


def plan_repairs(
    alerts: Sequence[AlertmanagerAlert],
    *,
    started_at: datetime,
    held_firing: Sequence[HeldInstance],
    known: Iterable[tuple[str, datetime]],
    now: datetime,
    grace: timedelta = DEFAULT_GRACE,
    origin: Origin,
) -> RepairPlan:
    """What to repair, given Alertmanager's `alerts` (its process `started_at`) and slakeeper's
    `held_firing` instances and `known` keys (every instance of the listed fingerprints).

    Only held instances `origin` delivered may be resolved. With `origin.receivers`, only
    alerts routed to one of them are added (or marked listed); any listed alert still counts
    as present, so an instance is never resolved because of its route.
    """
    receivers = origin.receivers
    listed = {(alert.fingerprint, _millisecond(alert.starts_at)): alert for alert in alerts}
    known_keys = {(fingerprint, _millisecond(start)) for fingerprint, start in known}
    known_keys.update((held.fingerprint, _millisecond(held.starts_at)) for held in held_firing)
    missing = tuple(
        _observation(alert, now, origin)
        for key, alert in sorted(listed.items())
        if key not in known_keys and _addable(alert, receivers)
    )
    listed_start = {alert.fingerprint: alert.starts_at for alert in alerts}
    up_for = now - started_at
    young = up_for < grace
    lost: list[AlertObservation] = []
    marked: list[tuple[str, datetime]] = []
    held_back = foreign = 0
    for held in sorted(held_firing, key=lambda held: (held.fingerprint, held.starts_at)):
        still_listed = listed.get((held.fingerprint, _millisecond(held.starts_at)))
        if (
            still_listed is not None
            and (held.listed_by is None or comparable_url(held.listed_by) != origin.url)
            and (receivers is None or not receivers.isdisjoint(still_listed.receivers))
        ):
            # This Alertmanager has it: from now on its list speaks for it.
            marked.append((held.fingerprint, held.starts_at))
            held = replace(held, listed_by=origin.url)
        if not origin.delivered(held):
            foreign += 1
        elif still_listed is not None:
            if still_listed.ends_at is not None and still_listed.ends_at <= now:
                lost.append(_resolution(held, still_listed.ends_at, now))
        elif young or held.last_received_at > now - grace:
            held_back += 1
        else:
            # Alertmanager keeps one alert per fingerprint: if it lists a later start of
            # ours, ours ended before that began.
            later = listed_start.get(held.fingerprint)
            ends_at = later if later is not None and held.starts_at < later < now else now
            lost.append(_resolution(held, ends_at, now))
    skipped_reason = _too_young(up_for, grace) if young else None
    return RepairPlan(missing, tuple(lost), held_back, skipped_reason, tuple(marked), foreign)


def _addable(alert: AlertmanagerAlert, receivers: frozenset[str] | None) -> bool:
    """A listed alert slakeeper does not know is added unless silenced or inhibited (the
    operator's decision) or, with `receivers`, routed to none of them."""
    return not alert.suppressed and (
        receivers is None or not set(alert.receivers).isdisjoint(receivers)
    )


def _too_young(up_for: timedelta, grace: timedelta) -> str:
    return (
        f"Alertmanager has been up for {max(up_for.total_seconds(), 0):.0f} s, less than "
        f"the {grace.total_seconds():.0f} s grace: its list may not be complete yet"
    )


def _observation(alert: AlertmanagerAlert, now: datetime, origin: Origin) -> AlertObservation:
    ended = alert.ends_at is not None and alert.ends_at <= now
    return AlertObservation(
        fingerprint=alert.fingerprint,
        starts_at=alert.starts_at,
        ends_at=alert.ends_at if ended else None,
        status=AlertStatus.RESOLVED if ended else AlertStatus.FIRING,
        labels=alert.labels,
        annotations=alert.annotations,
        generator_url=alert.generator_url,
        source=Source.ALERTMANAGER,
        received_at=now,
        origin_url=origin.url,
        origin_receiver=RECEIVER,
    )


def _resolution(held: HeldInstance, ends_at: datetime, now: datetime) -> AlertObservation:
    return AlertObservation(
        fingerprint=held.fingerprint,
        # The stored start, not Alertmanager's millisecond one: this resolves that row.
        starts_at=held.starts_at,
        ends_at=max(ends_at, held.starts_at),
        status=AlertStatus.RESOLVED,
        labels=held.labels,
        annotations=held.annotations,
        generator_url=held.generator_url,
        source=Source.ALERTMANAGER,
        received_at=now,
    )
