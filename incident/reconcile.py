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
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine, Table, bindparam, select, update
from sqlalchemy.orm import Session

from collector.alertmanager_client import alertmanager_endpoint, read_alertmanager, shown_url
from collector.alerts import AlertStatus, Delivery, Source
from collector.models import AlertInstance
from core.counters import CounterKey, add_to_counters, counter_key
from core.database import writing_session
from incident.ingestion import apply_deliveries
from incident.repairs import (
    DEFAULT_GRACE,
    RECEIVER,
    HeldInstance,
    Origin,
    RepairKind,
    RepairPlan,
    plan_repairs,
)
from rules.policy import RuleFile

__all__ = ["RECONCILIATION_REPAIRS", "ReconcileReport", "reconcile_alerts", "repair_counts"]

RECONCILIATION_REPAIRS = "slakeeper_reconciliation_repairs_total"
"""Counter of alert instances reconciliation repaired, by `kind` (a `RepairKind`)."""


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
        shown_url(alertmanager_endpoint(alertmanager_url, "")), external_urls, receivers
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
                external_url=shown_url(alertmanager_endpoint(alertmanager_url, "")),
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
