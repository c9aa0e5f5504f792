"""Reconciliation with Alertmanager: repair what its webhooks failed to deliver.

A webhook can be lost (slakeeper down for longer than Alertmanager retries, a proxy that
drops it). Alertmanager's `GET /api/v2/alerts` says what fires now, so a job compares it
with what slakeeper holds and repairs two things, through `apply_deliveries` so that
incidents open and auto-resolve exactly as for a webhook:

- a *missing firing*: an alert Alertmanager lists that slakeeper does not know by
  `(fingerprint, startsAt)` is ingested as a firing observation;
- a *lost resolved*: an instance slakeeper holds as firing, delivered by *this*
  Alertmanager, that it no longer lists is resolved at `now` (or when a later start of the
  same alert began). Delivered by this Alertmanager means: its webhook carried one of this
  Alertmanager's external URLs (the URL reconciliation reads, and any set in
  `alertmanager_external_urls`), or an earlier run found it in this Alertmanager's list.
  Anything else (Prometheus' own pushes, a webhook posted by hand, an old firing replayed,
  another Alertmanager's alerts) never passed through it, so its list says nothing about
  them: resolving those turned a replayed firing into an 11-day outage.

What Alertmanager 0.25 does, checked against the real binary (the captured answer is
tests/fixtures/alertmanager_v2_alerts.json), and what follows from it:

- silenced and inhibited alerts are listed (state `suppressed`): they still fire, so an
  instance slakeeper holds stays firing; but one slakeeper never heard of is not added, since
  Alertmanager withholds it on purpose (a silence is the operator's decision);
- an alert leaves the list as soon as its `endsAt` passes, long before it is garbage
  collected; one listed with an `endsAt` passed by `now` ended after the GET, and is taken
  as resolved at that `endsAt`;
- times come at millisecond precision, while a webhook carries Alertmanager's own (the
  nanoseconds of an alert posted without `startsAt`), so instances match on the millisecond;
- alerts live in memory only: a restarted Alertmanager lists nothing until Prometheus
  resends (every `resend_delay`, 1 min by default). Resolving what it "lost" then would end
  real outages, so nothing is resolved until it has been up for a grace period; nor is an
  instance slakeeper heard of within that grace, whose webhook may have raced the GET.
"""

from __future__ import annotations

import typing
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated
from urllib.parse import urlsplit

import httpx
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    TypeAdapter,
    ValidationError,
)
from sqlalchemy import Engine, Table, bindparam, select, update
from sqlalchemy.orm import Session

from collector.alerts import AlertObservation, AlertStatus, Delivery, Source
from collector.models import AlertInstance
from collector.schemas import Annotations, Fingerprint, Labels, Text, Timestamp
from core.counters import CounterKey, add_to_counters, counter_key
from core.database import writing_session
from incident.ingestion import apply_deliveries
from rules.policy import RuleFile

__all__ = [
    "DEFAULT_GRACE",
    "RECEIVER",
    "RECONCILIATION_REPAIRS",
    "AlertmanagerAlert",
    "AlertmanagerSnapshot",
    "AlertmanagerUnavailable",
    "HeldInstance",
    "ReconcileReport",
    "RepairKind",
    "RepairPlan",
    "alertmanager_endpoint",
    "comparable_url",
    "parse_alerts",
    "parse_started_at",
    "plan_repairs",
    "read_alertmanager",
    "reconcile_alerts",
    "repair_counts",
]

DEFAULT_GRACE = timedelta(minutes=5)
RECEIVER = "reconciliation"
"""The receiver named on the deliveries reconciliation records."""
RECONCILIATION_REPAIRS = "slakeeper_reconciliation_repairs_total"
"""Counter of alert instances reconciliation repaired, by `kind` (a `RepairKind`)."""


class RepairKind(StrEnum):
    MISSING_FIRING = "missing_firing"
    MISSING_RESOLVED = "missing_resolved"
    LOST_RESOLVED = "lost_resolved"


class AlertmanagerUnavailable(Exception):
    """Alertmanager could not be read (unreachable, an error status or an unreadable answer);
    reconciliation changed nothing."""


# --- Pure part: Alertmanager's answers and the repairs they call for -------------------


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
        if key not in known_keys
        and not alert.suppressed
        and (receivers is None or not set(alert.receivers).isdisjoint(receivers))
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
    skipped_reason = None
    if young:
        skipped_reason = (
            f"Alertmanager has been up for {max(up_for.total_seconds(), 0):.0f} s, less than "
            f"the {grace.total_seconds():.0f} s grace: its list may not be complete yet"
        )
    return RepairPlan(missing, tuple(lost), held_back, skipped_reason, tuple(marked), foreign)


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


def repair_counts(plan: RepairPlan) -> Counter[CounterKey]:
    """What `plan` adds to `slakeeper_reconciliation_repairs_total`, by kind."""
    kinds: Counter[RepairKind] = Counter(
        RepairKind.MISSING_RESOLVED
        if observation.status is AlertStatus.RESOLVED
        else RepairKind.MISSING_FIRING
        for observation in plan.missing
    )
    kinds[RepairKind.LOST_RESOLVED] += len(plan.lost)
    return Counter(
        {counter_key(RECONCILIATION_REPAIRS, kind=kind.value): n for kind, n in kinds.items() if n}
    )


def alertmanager_endpoint(alertmanager_url: str, path: str) -> httpx.URL:
    """`path` under Alertmanager's URL, keeping its route prefix (`http://h/am` + `/api/v2/x`)."""
    try:
        base = httpx.URL(alertmanager_url)
    except httpx.InvalidURL:
        # The error would quote the URL, and with it any credentials.
        raise ValueError("the Alertmanager URL is not a valid URL") from None
    if base.scheme not in {"http", "https"} or not base.host:
        raise ValueError("the Alertmanager URL must be an http:// or https:// URL with a host")
    return base.copy_with(path=base.path.rstrip("/") + path)


def _shown(url: httpx.URL) -> str:
    """`url` fit for a message: no credentials, no query (it may carry a token)."""
    return str(url.copy_with(userinfo=b"", query=None, fragment=None))


# --- I/O part: reading Alertmanager, then one transaction -----------------------------


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    """What one reconciliation did: alerts Alertmanager `listed`, instances slakeeper did not
    know `added`, lost resolveds `resolved`, instances it no longer lists `held_back` firing by
    the grace, and why lost resolveds were not looked for (`skipped_reason`), if they were not.
    """

    listed: int
    added: int
    resolved: int
    held_back: int
    skipped_reason: str | None
    foreign: int = 0
    """Instances held firing that this Alertmanager did not deliver, left alone."""


def read_alertmanager(client: httpx.Client, alertmanager_url: str) -> AlertmanagerSnapshot:
    """Alertmanager's alerts, then its start time; AlertmanagerUnavailable if it cannot say."""
    # Alerts first: if Alertmanager restarts between the two reads, the status shows the new
    # process' start and the grace protects a list that may be the new, empty one.
    alerts_url = alertmanager_endpoint(alertmanager_url, "/api/v2/alerts")
    every_state = dict.fromkeys(("active", "silenced", "inhibited", "unprocessed"), "true")
    alerts_body = _get(client, alerts_url, every_state)
    status_url = alertmanager_endpoint(alertmanager_url, "/api/v2/status")
    status_body = _get(client, status_url, {})
    try:
        return AlertmanagerSnapshot(parse_alerts(alerts_body), parse_started_at(status_body))
    except ValueError as error:
        raise AlertmanagerUnavailable(
            f"Alertmanager at {_shown(alerts_url)} answered something that is not its API's: "
            f"{_first_problem(error)}"
        ) from None


def _get(client: httpx.Client, url: httpx.URL, params: dict[str, str]) -> bytes:
    try:
        # Merged, not replaced: a query in the configured URL (a proxy's token) is kept.
        response = client.get(url.copy_merge_params(params))
    except httpx.HTTPError as error:
        # `from None`: a chained traceback would show the request, credentials included.
        raise AlertmanagerUnavailable(
            f"cannot reach Alertmanager at {_shown(url)}: {_scrubbed(error, url)}"
        ) from None
    if not response.is_success:
        raise AlertmanagerUnavailable(
            f"Alertmanager at {_shown(url)} answered HTTP {response.status_code}"
        )
    return response.content


def _scrubbed(error: httpx.HTTPError, url: httpx.URL) -> str:
    # The error may quote the URL: hide its credentials and query (whole first, then parts).
    text = f"{type(error).__name__}: {error}"
    parts = (url.query.decode(), url.userinfo.decode(), url.password, url.username)
    query_values = (value for _name, value in url.params.multi_items())
    for secret in (*parts, *query_values):
        if secret:
            text = text.replace(secret, "***")
    return text


def _first_problem(error: ValueError) -> str:
    if isinstance(error, ValidationError):
        # Pydantic's message would quote the input; its location and reason are enough.
        first = error.errors(include_input=False)[0]
        return f"{'.'.join(map(str, first['loc'])) or '(body)'}: {first['msg']}"
    return str(error)


def reconcile_alerts(
    engine: Engine,
    *,
    client: httpx.Client,
    alertmanager_url: str,
    rules: RuleFile,
    now: datetime,
    grace: timedelta = DEFAULT_GRACE,
    receivers: Collection[str] | None = None,
    external_urls: Iterable[str] = (),
) -> ReconcileReport:
    """Read Alertmanager, then repair missing firings and lost resolveds in one transaction.

    `external_urls` are the URLs, besides `alertmanager_url`, that this Alertmanager's
    webhooks carry as `externalURL` (its `--web.external-url`, its cluster peers').
    Raises AlertmanagerUnavailable, having changed nothing, if Alertmanager cannot be read.
    """
    origin = Origin.of(
        _shown(alertmanager_endpoint(alertmanager_url, "")), external_urls, receivers
    )
    if grace < timedelta(0):
        raise ValueError(f"grace must not be negative, got {grace}")
    # Outside the transaction: a slow Alertmanager must not hold the database's write lock.
    snapshot = read_alertmanager(client, alertmanager_url)
    with writing_session(engine) as session:
        plan = plan_repairs(
            snapshot.alerts,
            started_at=snapshot.started_at,
            held_firing=_held_firing(session),
            known=_known_keys(session, {alert.fingerprint for alert in snapshot.alerts}),
            now=now,
            grace=grace,
            origin=origin,
        )
        _mark_listed(session, plan.listed, origin.url)
        repairs = plan.missing + plan.lost
        if repairs:
            delivery = Delivery(
                source=Source.ALERTMANAGER,
                received_at=now,
                alerts=repairs,
                receiver=RECEIVER,
                external_url=_shown(alertmanager_endpoint(alertmanager_url, "")),
            )
            apply_deliveries(session, [delivery], rules=rules, now=now)
            add_to_counters(session, repair_counts(plan))
    return ReconcileReport(
        listed=len(snapshot.alerts),
        added=len(plan.missing),
        resolved=len(plan.lost),
        held_back=plan.held_back,
        skipped_reason=plan.skipped_reason,
        foreign=plan.foreign,
    )


def _held_firing(session: Session) -> list[HeldInstance]:
    # Read inside the transaction, after the GET: an instance a webhook brought in since is
    # seen here with a recent `last_received_at`, and the grace keeps it firing.
    rows = session.execute(
        select(
            AlertInstance.fingerprint,
            AlertInstance.starts_at,
            AlertInstance.last_received_at,
            AlertInstance.labels,
            AlertInstance.annotations,
            AlertInstance.generator_url,
            AlertInstance.origin_url,
            AlertInstance.origin_receiver,
            AlertInstance.listed_by,
        )
        .where(AlertInstance.status == AlertStatus.FIRING.value)
        .where(AlertInstance.source == Source.ALERTMANAGER.value)
    )
    return [HeldInstance(*row) for row in rows]


def _mark_listed(session: Session, keys: Sequence[tuple[str, datetime]], url: str) -> None:
    # Once per instance: a later run finds it marked. One statement for all of them.
    if keys:
        table = typing.cast(Table, AlertInstance.__table__)
        alerts = table.c
        session.execute(
            update(table)
            .where(alerts.fingerprint == bindparam("key_fingerprint"))
            .where(alerts.starts_at == bindparam("key_starts_at"))
            .values(listed_by=url),
            [{"key_fingerprint": f, "key_starts_at": start} for f, start in keys],
        )


_CHUNK = 500


def _known_keys(session: Session, fingerprints: Collection[str]) -> list[tuple[str, datetime]]:
    wanted = sorted(fingerprints)
    keys: list[tuple[str, datetime]] = []
    for offset in range(0, len(wanted), _CHUNK):
        chunk = wanted[offset : offset + _CHUNK]
        keys.extend(
            (fingerprint, starts_at)
            for fingerprint, starts_at in session.execute(
                select(AlertInstance.fingerprint, AlertInstance.starts_at).where(
                    AlertInstance.fingerprint.in_(chunk)
                )
            )
        )
    return keys
