"""What an incident action leaves in the audit trail: the incident's fields before and after,
by whom and via whom."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from access.audit import Caller, record
from access.roles import Acting
from incident.models import Incident

__all__ = ["audit_action", "snapshot"]

# What an audit event of an incident action keeps of the incident before and after.
_AUDITED = (
    "state",
    "title",
    "service",
    "priority",
    "category",
    "impact",
    "acknowledged_at",
    "acknowledged_by",
    "resolved_at",
    "resolved_by",
    "closed_at",
    "closed_by",
    "response_breached",
    "resolution_breached",
)


def snapshot(session: Session, incident_id: int) -> dict[str, Any] | None:
    """The audited fields of an incident, locked for this transaction; None if unknown."""
    incident = session.scalar(select(Incident).where(Incident.id == incident_id).with_for_update())
    return None if incident is None else {name: getattr(incident, name) for name in _AUDITED}


def audit_action(
    session: Session,
    caller: Caller,
    acting: Acting,
    action: str,
    incident: Incident,
    before: dict[str, Any] | None,
    now: datetime,
) -> None:
    """Record `action` on `incident` (fields `before`, as `snapshot` read them, and now)."""
    after = {name: getattr(incident, name) for name in _AUDITED}
    record(
        session,
        caller,
        action=f"incident.{action}",
        at=now,
        target=f"incident:{incident.id}",
        before=before,
        after=after,
        acting=acting,
    )
