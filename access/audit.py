"""The audit trail: every change of state and every login, written in the transaction of
the change it records, read newest first."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from access.models import AuditEvent
from access.roles import Acting, Principal, acting
from core.wire import json_values, rfc3339

__all__ = ["AuditQuery", "Caller", "audit_fields", "audit_page", "record"]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who made a request, and from where."""

    principal: Principal
    address: str | None

    def acting(self, claimed: str | None) -> Acting:
        """Who a write naming `claimed` as its actor is recorded as (ActingRefused: 403)."""
        return acting(self.principal, claimed)


def record(
    session: Session,
    caller: Caller,
    *,
    action: str,
    at: datetime,
    target: str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    acting: Acting | None = None,
    outcome: str = "ok",
) -> None:
    """Add one audit event; the caller's transaction commits it with the change."""
    recorded = acting or Acting(caller.principal.name)
    session.add(
        AuditEvent(
            at=at,
            actor=recorded.actor,
            actor_kind=caller.principal.kind.value,
            via=recorded.via,
            method=caller.principal.method,
            address=caller.address,
            action=action,
            target=target,
            outcome=outcome,
            before=json_values(before),
            after=json_values(after),
        )
    )


@dataclass(frozen=True, slots=True)
class AuditQuery:
    actor: str | None = None
    action: str | None = None
    target: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None
    limit: int = 100


def audit_page(session: Session, query: AuditQuery) -> tuple[list[AuditEvent], int | None]:
    """Events matching `query`, newest first, and the id to continue before (or None)."""
    statement = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(query.limit + 1)
    if query.actor is not None:
        statement = statement.where(AuditEvent.actor == query.actor)
    if query.action is not None:
        # `incident` matches every incident action; `incident.ack` only that one.
        statement = statement.where(
            (AuditEvent.action == query.action)
            | AuditEvent.action.startswith(query.action + ".", autoescape=True)
        )
    if query.target is not None:
        statement = statement.where(AuditEvent.target == query.target)
    if query.outcome is not None:
        statement = statement.where(AuditEvent.outcome == query.outcome)
    if query.since is not None:
        statement = statement.where(AuditEvent.at >= query.since)
    if query.until is not None:
        statement = statement.where(AuditEvent.at < query.until)
    if query.before_id is not None:
        statement = statement.where(AuditEvent.id < query.before_id)
    rows = list(session.scalars(statement))
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    return rows, (rows[-1].id if more and rows else None)


def audit_fields(event: AuditEvent) -> dict[str, Any]:
    """An audit event as the API shows it."""
    return {
        "id": event.id,
        "at": rfc3339(event.at),
        "actor": event.actor,
        "actor_kind": event.actor_kind,
        "via": event.via,
        "method": event.method,
        "address": event.address,
        "action": event.action,
        "target": event.target,
        "outcome": event.outcome,
        "before": event.before,
        "after": event.after,
    }
