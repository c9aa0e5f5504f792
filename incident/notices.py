"""Notifications about incidents: one message per contact, queued once per key."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.wire import json_values
from incident.models import Incident, Notification
from incident.outbox import QueuedNotification, enqueue_notifications
from incident.store import count_alerts, incident_fields
from rules.policy import RuleFile

__all__ = ["Notice", "level_contacts", "notify", "notify_followers", "notify_many"]


@dataclass(frozen=True, slots=True)
class Notice:
    """Messages about one incident: one per contact, queued once per `key`.

    `incident` is the incident as `incident_fields` shows it, its alert count included.
    """

    incident: Mapping[str, Any]
    contacts: Iterable[str]
    reason: str
    key: str
    details: Mapping[str, Any] | None = None


def notify(
    session: Session,
    incident: Incident,
    *,
    contacts: Iterable[str],
    reason: str,
    key: str,
    now: datetime,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Queue one message per contact; the same `key` for the same incident is queued once."""
    alert_count = count_alerts(session, [incident.id]).get(incident.id, 0)
    fields = incident_fields(incident, alert_count=alert_count)
    notify_many(session, [Notice(fields, contacts, reason, key, details)], now=now)


def notify_many(session: Session, notices: Sequence[Notice], *, now: datetime) -> None:
    """`notify` for many incidents in one statement."""
    messages: list[QueuedNotification] = []
    for notice in notices:
        incident_id = notice.incident["id"]
        payload = {
            "reason": notice.reason,
            "incident": notice.incident,
            **({"details": json_values(notice.details)} if notice.details else {}),
        }
        messages.extend(
            QueuedNotification(
                dedupe_key=f"incident/{incident_id}/{notice.key}/{contact}",
                incident_id=incident_id,
                contact=contact,
                reason=notice.reason,
                payload={**payload, "contact": contact},
            )
            for contact in dict.fromkeys(notice.contacts)
        )
    enqueue_notifications(session, messages, now=now)


def notify_followers(
    session: Session, incidents: Sequence[Incident], *, reason: str, now: datetime
) -> None:
    """Tell everyone who heard of each incident that it `reason` (resolved, closed): one
    message per contact an earlier message went to, queued once per change."""
    if not incidents:
        return
    ids = [incident.id for incident in incidents]
    heard: dict[int, list[str]] = {}
    rows = session.execute(
        select(Notification.incident_id, Notification.contact)
        .where(Notification.incident_id.in_(ids))
        .order_by(Notification.id)
    )
    for incident_id, contact in rows:
        if incident_id is not None:
            heard.setdefault(incident_id, []).append(contact)
    followed = [incident for incident in incidents if heard.get(incident.id)]
    if not followed:
        return
    counts = count_alerts(session, [incident.id for incident in followed])
    notices = []
    for incident in followed:
        fields = incident_fields(incident, alert_count=counts.get(incident.id, 0))
        # Once per resolution (an incident may resolve, reopen and resolve again).
        moment = fields.get(f"{reason}_at") or now.isoformat()
        notices.append(
            Notice(fields, dict.fromkeys(heard[incident.id]), reason, f"{reason}/{moment}")
        )
    notify_many(session, notices, now=now)


def level_contacts(rules: RuleFile, level: str | None) -> tuple[str, ...]:
    """Who hears of an incident at `level`: the level's `notify` list."""
    found = rules.levels.get(level) if level is not None else None
    return found.notify if found is not None else ()
