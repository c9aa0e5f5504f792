"""Scheduled work on incidents: record breaches that time alone caused, fire escalation steps.

Each function is one job step: a function of (session, now) that the caller runs in one
transaction, looking at a bounded page of active incidents in id order. `after_id` and the
returned `Batch` let a caller page through all of them, one transaction per page.

Several replicas may run these at once. On PostgreSQL each page is selected `FOR UPDATE SKIP
LOCKED`, so replicas share the work instead of queueing on it, and a person acknowledging an
incident is never overtaken by a stale escalation. Whatever the timing, a step fires once:
the `escalations` row is inserted with ON CONFLICT DO NOTHING, and only the transaction that
inserted it writes the timeline event, the notifications and the counter.

Escalation steps are numbered from 1 wherever they show (timeline, notification and its
`Idempotency-Key`, the `step` label of `slakeeper_escalations_total`): `step="1"` is the first
step of the priority's list in the rule file. The `escalations.step_index` column counts from 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine, Select, and_, false, or_, select
from sqlalchemy.orm import Session

from core.counters import add_to_counters, counter_key
from core.database import dialect_insert, writing_session
from incident.escalation import due_steps
from incident.lifecycle import State
from incident.models import EscalationFiring, Incident
from incident.notices import notify
from incident.sla import record_breaches
from incident.store import ACTIVE_STATES, SYSTEM
from incident.timeline import NewEvent, add_events
from rules.policy import EscalationStep, RuleFile

__all__ = [
    "BATCH",
    "ESCALATIONS",
    "Batch",
    "detect_breaches",
    "escalate",
    "fire_step",
    "run_sla_checks",
]

ESCALATIONS = "slakeeper_escalations_total"
BATCH = 500  # incidents per transaction: keeps SQLite's write lock short

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class Batch:
    """What one job step did: incidents examined, the last one's id, and how many changed."""

    examined: int
    last_id: int
    changed: int
    limit: int

    @property
    def more(self) -> bool:
        """True when the page was full, so incidents after `last_id` may still need work."""
        return self.examined >= self.limit


def detect_breaches(
    session: Session, *, rules: RuleFile, now: datetime, after_id: int = 0, limit: int = BATCH
) -> Batch:
    """Record the response and resolution breaches of active incidents that happened by `now`."""
    # The conditions of `new_breaches`: an incident acknowledged in time has no response
    # breach, however long it stays open.
    acknowledged_late = or_(
        Incident.acknowledged_at.is_(None), Incident.acknowledged_at > Incident.response_due_at
    )
    missed_response = and_(
        Incident.response_breached.is_(False), Incident.response_due_at <= now, acknowledged_late
    )
    missed_resolution = and_(
        Incident.resolution_breached.is_(False), Incident.resolution_due_at <= now
    )
    incidents = _page(
        session,
        select(Incident).where(or_(missed_response, missed_resolution)),
        after_id=after_id,
        limit=limit,
    )
    changed = sum(bool(record_breaches(session, i, rules=rules, now=now)) for i in incidents)
    return _batch(incidents, after_id=after_id, changed=changed, limit=limit)


def escalate(
    session: Session, *, rules: RuleFile, now: datetime, after_id: int = 0, limit: int = BATCH
) -> Batch:
    """Fire the escalation steps of active incidents that are due at `now` and have not fired."""
    # Business time never runs faster than the wall clock: younger incidents have nothing due.
    old_enough = [
        and_(Incident.priority == priority, Incident.opened_at <= now - min(lengths))
        for priority, steps in rules.escalation.items()
        if (lengths := [step.after.length for step in steps])
    ]
    incidents = _page(
        session,
        select(Incident).where(or_(false(), *old_enough)),
        after_id=after_id,
        limit=limit,
    )
    fired = _fired_steps(session, [incident.id for incident in incidents])
    changed = 0
    for incident in incidents:
        due = due_steps(
            rules.escalation.get(incident.priority, ()),
            state=State(incident.state),
            opened_at=incident.opened_at,
            fired=fired.get((incident.id, incident.priority), set()),
            now=now,
        )
        changed += sum(fire_step(session, incident, step=step, now=now) for step in due)
    return _batch(incidents, after_id=after_id, changed=changed, limit=limit)


def fire_step(session: Session, incident: Incident, *, step: EscalationStep, now: datetime) -> bool:
    """Record `step` as fired for `incident`, notify its contacts and count it; False if it had
    already fired, whoever fired it (then nothing is written)."""
    inserted = session.execute(
        dialect_insert(session, EscalationFiring)
        .values(
            incident_id=incident.id,
            priority=incident.priority,
            step_index=step.index,
            fired_at=now,
        )
        .on_conflict_do_nothing(index_elements=["incident_id", "priority", "step_index"])
        .returning(EscalationFiring.id)
    ).scalar_one_or_none()
    if inserted is None:
        return False
    number = step.index + 1
    add_events(
        session,
        [
            NewEvent(
                incident.id,
                now,
                SYSTEM,
                "escalated",
                after={"step": number, "notify": list(step.notify)},
                note=f"{incident.priority} escalation step {number}: {step.after.duration} "
                "since the incident opened",
            )
        ],
    )
    notify(
        session,
        incident,
        contacts=step.notify,
        reason="escalation",
        # Numbered from 1, as people see it; the `step-` keeps these keys apart from those of
        # earlier versions, which counted from 0, so no message is sent again under a new key.
        key=f"escalation/{incident.priority}/step-{number}",
        now=now,
        details={
            "priority": incident.priority,
            "step": number,
            "after": str(step.after.duration),
            "due_at": step.after.deadline(incident.opened_at),
        },
    )
    add_to_counters(
        session, {counter_key(ESCALATIONS, priority=incident.priority, step=str(number)): 1}
    )
    return True


def _page(
    session: Session, query: Select[Incident], *, after_id: int, limit: int
) -> list[Incident]:
    query = (
        query.where(Incident.state.in_(ACTIVE_STATES))
        .where(Incident.id > after_id)
        .order_by(Incident.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def _fired_steps(session: Session, incident_ids: list[int]) -> dict[tuple[int, str], set[int]]:
    """The step indexes already fired, by (incident, priority)."""
    fired: dict[tuple[int, str], set[int]] = {}
    if not incident_ids:
        return fired
    rows = session.execute(
        select(
            EscalationFiring.incident_id, EscalationFiring.priority, EscalationFiring.step_index
        ).where(EscalationFiring.incident_id.in_(incident_ids))
    )
    for incident_id, priority, step_index in rows:
        fired.setdefault((incident_id, priority), set()).add(step_index)
    return fired


def _batch(incidents: list[Incident], *, after_id: int, changed: int, limit: int) -> Batch:
    last_id = incidents[-1].id if incidents else after_id
    return Batch(examined=len(incidents), last_id=last_id, changed=changed, limit=limit)


class _JobStep(Protocol):
    def __call__(
        self, session: Session, *, rules: RuleFile, now: datetime, after_id: int, limit: int
    ) -> Batch: ...


def run_sla_checks(
    engine: Engine, *, rules: Callable[[], RuleFile], clock: Clock, limit: int = BATCH
) -> tuple[int, int]:
    """Record due breaches, then fire due escalation steps, of every active incident, one
    transaction per page; returns (incidents with new breaches, steps fired)."""
    current = rules()  # one rule file for the whole pass, even if it is reloaded meanwhile
    return (
        _all_pages(engine, detect_breaches, rules=current, clock=clock, limit=limit),
        _all_pages(engine, escalate, rules=current, clock=clock, limit=limit),
    )


def _all_pages(engine: Engine, step: _JobStep, *, rules: RuleFile, clock: Clock, limit: int) -> int:
    changed, after_id = 0, 0
    while True:
        with writing_session(engine) as session:
            batch = step(session, rules=rules, now=clock(), after_id=after_id, limit=limit)
        changed += batch.changed
        if not batch.more:
            return changed
        after_id = batch.last_id
