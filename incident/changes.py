"""Applying a transition (`incident.transitions`): the one place its fields are set and
its timeline entry written; then what resolving and reopening always bring along."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from incident.lifecycle import State
from incident.models import Incident
from incident.sla import measure_clocks, record_breaches, withdraw_breaches
from incident.timeline import NewEvent, add_events
from incident.transitions import Change, Current, reopened, resolved
from rules.policy import RuleFile

__all__ = ["apply_change", "current", "reopen_incident", "resolve_incident"]


def current(incident: Incident) -> Current:
    """What a transition reads of `incident`."""
    return Current(State(incident.state), incident.resolved_at, incident.flap_count)


def apply_change(
    session: Session,
    incident: Incident,
    change: Change,
    *,
    actor: str,
    note: str | None,
    via: str | None = None,
) -> None:
    """Set the fields of `change` on `incident` and write its timeline entry (by `actor`,
    `via` the service account that relayed it)."""
    for name, value in change.fields.items():
        setattr(incident, name, value)
    at = change.fields["updated_at"]
    event = NewEvent(incident.id, at, actor, change.kind, change.before, change.after, note, via)
    add_events(session, [event])


def resolve_incident(
    session: Session,
    incident: Incident,
    *,
    at: datetime,
    actor: str,
    rules: RuleFile,
    now: datetime,
    note: str | None = None,
    via: str | None = None,
) -> None:
    """Resolve an active incident as of `at`, measure its clocks and record any breach."""
    change = resolved(current(incident), at=at, actor=actor, now=now)
    apply_change(session, incident, change, actor=actor, note=note, via=via)
    # A response measured when it happened (an acknowledgement) stays as measured, whatever
    # time the resolution is dated: a late resolved notification may date it earlier.
    measure_clocks(session, incident, rules, keep_response=True)
    withdraw_breaches(session, incident, now=now)
    record_breaches(session, incident, rules=rules, now=now)


def reopen_incident(
    session: Session,
    incident: Incident,
    *,
    actor: str,
    now: datetime,
    flap: bool,
    note: str | None = None,
    via: str | None = None,
) -> None:
    """Make a resolved (or closed) incident open again; a flap is counted."""
    change = reopened(current(incident), flap=flap, now=now)
    apply_change(session, incident, change, actor=actor, note=note, via=via)
