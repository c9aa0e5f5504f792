"""The demo's months loaded through the real paths, on a virtual clock.

A virtual clock steps through the scenario's events in time order. Each Alertmanager
notification is validated and normalised as the webhook route does it and stored by
`apply_deliveries`, the NOC's actions are the incident service's functions, maintenance is
planned with `plan_maintenance`, and the SLA job runs every 15 virtual minutes: every
`now` is the virtual time, never the wall clock. Nothing is sent: the notifications the
demo causes are kept in the outbox as recorded, so a later `serve` does not page anyone
about a month that never happened.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson
from pydantic import TypeAdapter
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session
from tqdm import tqdm

from availability.periods import PeriodInFuture
from availability.service import plan_maintenance
from collector.alerts import Delivery
from collector.models import AlertInstance
from collector.normalise import from_alertmanager_webhook
from collector.schemas import AlertmanagerWebhook
from core.database import writing_session
from core.wire import rfc3339
from incident.ingestion import apply_deliveries
from incident.jobs import detect_breaches, escalate
from incident.lifecycle import State
from incident.models import Incident, Notification
from incident.outbox import OutboxState
from incident.service import (
    Reclassification,
    acknowledge,
    close,
    open_manual_incident,
    reclassify,
    resolve,
)
from incident.store import ACTIVE_STATES
from rules.policy import RuleFile
from slakeeper.demo.events import (
    Acknowledge,
    AlertNotice,
    Close,
    Event,
    PersonAction,
    PlanMaintenance,
    Reclassify,
    Report,
    ResolveByHand,
    Webhook,
)
from slakeeper.demo.scenario import build_scenario
from slakeeper.demo.stories import Month
from slakeeper.demo.summary import DemoSummary, summarise

__all__ = ["SLA_CHECK_EVERY", "DatabaseNotEmpty", "default_months", "run_demo", "webhook_payload"]

SLA_CHECK_EVERY = timedelta(minutes=15)
_WEBHOOK = TypeAdapter(AlertmanagerWebhook)
_GO_ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's "no end yet"


class DatabaseNotEmpty(Exception):
    """The database already holds alerts or incidents; the demo would mix with them."""


def default_months(rules: RuleFile, *, now: datetime) -> list[tuple[int, int]]:
    """Last month and this month (to date), in the rule file's time zone."""
    local = now.astimezone(rules.timezone)
    previous = (local.year - 1, 12) if local.month == 1 else (local.year, local.month - 1)
    return [previous, (local.year, local.month)]


def run_demo(
    engine: Engine,
    *,
    rules: RuleFile,
    months: Sequence[tuple[int, int]],
    seed: int,
    now: datetime,
    force: bool = False,
    progress: bool = False,
) -> DemoSummary:
    """Simulate `months` up to `now` into the database; DatabaseNotEmpty if it holds alerts
    or incidents (unless `force`), PeriodInFuture if a month has not begun."""
    for year, month in months:
        if Month.of(year, month, rules.timezone).start > now:
            raise PeriodInFuture(f"{year:04d}-{month:02d} has not begun; nothing to simulate")
    with Session(engine) as session:
        if not force and _holds_data(session):
            raise DatabaseNotEmpty(
                "the database already holds alerts or incidents; the demo wants a fresh one "
                "(give another --database-url, or --force to add the demo to it)"
            )
        last_notification = session.scalar(select(func.max(Notification.id))) or 0
    scenario = build_scenario(rules, months=months, seed=seed, until=now)
    simulation = _Simulation(engine, rules, first_check=scenario.start)
    with tqdm(
        total=len(scenario.events), desc="demo", unit="event", file=sys.stderr, disable=not progress
    ) as bar:
        for event in scenario.events:
            simulation.check_sla_until(event.at)
            simulation.apply(event)
            bar.set_postfix_str(f"{event.at:%Y-%m-%d}", refresh=False)
            bar.update()
        simulation.check_sla_until(scenario.end)
    with writing_session(engine) as session:
        # Nothing of a simulated month is for anyone's pager.
        session.execute(
            update(Notification)
            .where(Notification.id > last_notification)
            .where(Notification.state == OutboxState.PENDING.value)
            .values(state=OutboxState.RECORDED.value)
        )
    webhooks = sum(isinstance(event.action, Webhook) for event in scenario.events)
    with Session(engine) as session:
        return summarise(session, rules, scenario.services, webhooks, months, now)


def webhook_payload(alerts: Sequence[AlertNotice]) -> dict[str, Any]:
    """An Alertmanager webhook (version 4) carrying `alerts`, as Alertmanager writes it."""
    first = alerts[0].labels
    group = {name: first[name] for name in ("alertname", "service") if name in first}
    return {
        "version": "4",
        "receiver": "slakeeper",
        "status": "firing" if any(alert.ends_at is None for alert in alerts) else "resolved",
        "groupKey": "{}:{" + ", ".join(f'{k}="{v}"' for k, v in group.items()) + "}",
        "truncatedAlerts": 0,
        "groupLabels": group,
        "commonLabels": group,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.demo:9093",
        "alerts": [
            {
                "status": "firing" if alert.ends_at is None else "resolved",
                "labels": dict(alert.labels),
                "annotations": dict(alert.annotations),
                "startsAt": rfc3339(alert.starts_at),
                "endsAt": rfc3339(alert.ends_at) or _GO_ZERO_TIME,
                "generatorURL": "http://prometheus.demo:9090/graph?g0.expr=ALERTS",
            }
            for alert in alerts
        ],
    }


def _holds_data(session: Session) -> bool:
    alert = session.scalar(select(AlertInstance.id).limit(1))
    return alert is not None or session.scalar(select(Incident.id).limit(1)) is not None


class _Simulation:
    """Applies events, one transaction each, and runs the SLA job on the virtual clock."""

    def __init__(self, engine: Engine, rules: RuleFile, *, first_check: datetime) -> None:
        self.engine, self.rules = engine, rules
        self.next_check = first_check
        self.manual: dict[str, int] = {}  # "manual/N" → the incident opened for it
        self.active = True  # whether any incident is open or acknowledged

    def check_sla_until(self, until: datetime) -> None:
        """Run the SLA job at every check time up to `until`; it has nothing to do while no
        incident is active."""
        while self.next_check <= until:
            if self.active:
                self._check_sla(self.next_check)
            self.next_check += SLA_CHECK_EVERY

    def _check_sla(self, now: datetime) -> None:
        """The SLA job's steps, breaches then escalation, in one transaction: one instant."""
        with writing_session(self.engine) as session:
            for step in (detect_breaches, escalate):
                after_id = 0
                while (batch := step(session, rules=self.rules, now=now, after_id=after_id)).more:
                    after_id = batch.last_id

    def apply(self, event: Event) -> None:
        with writing_session(self.engine) as session:
            self._apply(session, event)
            active = select(Incident.id).where(Incident.state.in_(ACTIVE_STATES)).limit(1)
            self.active = session.scalar(active) is not None

    def _apply(self, session: Session, event: Event) -> None:
        action, now, rules = event.action, event.at, self.rules
        if isinstance(action, Webhook):
            apply_deliveries(session, [_delivery(action, now)], rules=rules, now=now)
        elif isinstance(action, Report):
            opened = open_manual_incident(
                session, report=action.report, actor=action.actor, rules=rules, now=now
            )
            self.manual[action.target] = opened.id
        elif isinstance(action, PlanMaintenance):
            plan_maintenance(session, action.window, actor=action.actor, now=now)
        else:
            self._act(session, action, now)

    def _act(self, session: Session, action: PersonAction, now: datetime) -> None:
        """What a person does; an incident that already moved on is left alone."""
        incident = self._incident(session, action.target)
        if incident is None:
            return
        state, rules, actor = State(incident.state), self.rules, action.actor
        if isinstance(action, Acknowledge) and state is State.OPEN:
            acknowledge(session, incident_id=incident.id, actor=actor, rules=rules, now=now)
        elif isinstance(action, Reclassify) and state.is_active:
            change = Reclassification(priority=action.priority, title=action.title)
            reclassify(
                session,
                incident_id=incident.id,
                change=change,
                actor=actor,
                rules=rules,
                now=now,
                note=action.note,
            )
        elif isinstance(action, ResolveByHand) and state.is_active:
            resolve(
                session,
                incident_id=incident.id,
                actor=actor,
                rules=rules,
                now=now,
                note=action.note,
            )
        elif isinstance(action, Close) and state is State.RESOLVED:
            close(
                session,
                incident_id=incident.id,
                actor=actor,
                confirmed_by=action.confirmed_by,
                now=now,
            )

    def _incident(self, session: Session, target: str) -> Incident | None:
        """The incident a target names: a manual one, or the latest of a group key."""
        if target in self.manual:
            return session.get(Incident, self.manual[target])
        latest = select(Incident).where(Incident.group_key == target).order_by(Incident.id.desc())
        found: Incident | None = session.scalars(latest.limit(1)).first()
        return found


def _delivery(webhook: Webhook, now: datetime) -> Delivery:
    """The notification as the webhook route receives it: JSON bytes, validated, normalised."""
    payload = _WEBHOOK.validate_json(orjson.dumps(webhook_payload(webhook.alerts)))
    return from_alertmanager_webhook(payload, now=now)
