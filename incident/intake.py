"""Alerts into incidents, inside the ingestion transaction.

After the upsert, the stored rows say what is new: a firing instance with no incident yet
needs a place (attach, reopen or open), and an instance this transaction resolved may
leave its incident with nothing firing (auto-resolve). Repeats of known alerts need
neither and cost nothing here. Decisions for a group key are taken under a lock on that key,
so concurrent deliveries for one group never open two incidents.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.alerts import AlertStatus
from collector.store import StoredAlert
from incident.attaching import attach_postgresql, attachable, attached_entry, set_incident_ids
from incident.changes import reopen_incident, resolve_incident
from incident.grouping import Placement, ResolvedIncident, place_alert
from incident.lifecycle import State
from incident.models import Incident
from incident.notices import level_contacts, notify, notify_followers
from incident.opening import NewIncident, open_incidents
from incident.severity import Severity, changed_fields, tolerance, worst
from incident.sla import apply_due_times
from incident.store import ACTIVE_STATES, SYSTEM, count_firing_alerts, lock_group_keys
from incident.timeline import NewEvent, add_events
from rules.policy import RuleFile
from rules.schema import Impact

__all__ = ["TitleOf", "process_alerts"]

TitleOf = Callable[[StoredAlert], str]


def process_alerts(
    session: Session,
    alerts: Sequence[StoredAlert],
    *,
    rules: RuleFile,
    title_of: TitleOf,
    now: datetime,
) -> None:
    """Place newly firing alerts in incidents and resolve incidents left with none firing."""
    to_place: dict[str, list[StoredAlert]] = {}
    resolving: set[int] = set()
    for alert in alerts:
        if alert.group_key is None:
            continue
        if alert.status is AlertStatus.FIRING:
            if alert.incident_id is None and _opens_incident(rules, alert.level):
                to_place.setdefault(alert.group_key, []).append(alert)
        elif alert.newly_resolved and alert.incident_id is not None:
            resolving.add(alert.incident_id)
    if to_place:
        _place(session, to_place, rules=rules, title_of=title_of, now=now)
    if resolving:
        _resolve_finished(session, resolving, rules=rules, now=now)


def _opens_incident(rules: RuleFile, level: str | None) -> bool:
    found = rules.levels.get(level) if level is not None else None
    # A level the rule file no longer knows still opens one: better noticed than lost.
    return found.open_incident if found is not None else True


def _place(
    session: Session,
    groups: dict[str, list[StoredAlert]],
    *,
    rules: RuleFile,
    title_of: TitleOf,
    now: datetime,
) -> None:
    """Attach each group's alerts to its incident, opening or reopening one where needed.

    The common case, a group whose active incident they do not raise, only shares a lock
    on that incident's row: concurrent deliveries attach side by side, and an auto-resolve
    (which locks the row for update) waits for them. Opening, reopening and raising take
    the group key's lock and the row's, one transaction at a time.
    """
    tolerances = {key: tolerance(members, rules) for key, members in groups.items()}
    if session.get_bind().dialect.name == "postgresql":
        done = attach_postgresql(session, groups, tolerances, now)
        attached: dict[str, int] = {}
    else:
        done = {}
        attached = attachable(session, tolerances)
    rest = sorted(key for key in groups if key not in attached and key not in done)
    if rest:
        lock_group_keys(session, rest)
        attached.update(_decide(session, {key: groups[key] for key in rest}, rules, title_of, now))
    ordered = sorted(attached.items(), key=lambda item: item[1])
    set_incident_ids(
        session,
        sorted((alert.id, incident_id) for key, incident_id in ordered for alert in groups[key]),
    )
    add_events(
        session,
        [
            NewEvent(incident_id, now, SYSTEM, "alerts_attached", after=attached_entry(groups[key]))
            for key, incident_id in ordered
        ],
    )


def _active_locked(session: Session, keys: Sequence[str]) -> list[Incident]:
    """The active incidents of `keys`, locked for update and read afresh (the row may have
    changed since this session last saw it)."""
    query = (
        select(Incident)
        .where(Incident.group_key.in_(keys))
        .where(Incident.state.in_(ACTIVE_STATES))
        .order_by(Incident.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(session.scalars(query))


def _decide(
    session: Session,
    groups: dict[str, list[StoredAlert]],
    rules: RuleFile,
    title_of: TitleOf,
    now: datetime,
) -> dict[str, int]:
    """Under the group keys' lock: attach (raising), reopen or open; the incident of each key."""
    keys = sorted(groups)
    active = {incident.group_key: incident for incident in _active_locked(session, keys)}
    recent = _recently_resolved(
        session, [key for key in keys if key not in active], groups, rules=rules
    )
    placed: dict[str, Incident] = {}
    opening: list[str] = []
    for key in keys:
        members = groups[key]
        current = active.get(key)
        last = recent.get(key)
        decision = place_alert(
            opens_incident=True,
            starts_at=min(alert.starts_at for alert in members),
            active_incident_id=current.id if current is not None else None,
            last_resolved=(
                ResolvedIncident(last.id, last.resolved_at)
                if last is not None and last.resolved_at is not None
                else None
            ),
            reopen_window=rules.reopen_window,
        )
        if decision.placement is Placement.OPEN:
            opening.append(key)  # opened together below: thousands cost a few statements
        elif decision.placement is Placement.REOPEN:
            assert last is not None
            reopen_incident(
                session,
                last,
                actor=SYSTEM,
                now=now,
                flap=True,
                note="the group fired again within the reopen window",
            )
            placed[key] = last
        else:
            assert current is not None
            placed[key] = current
    for key, incident in placed.items():
        _raise(session, incident, groups[key], rules=rules, now=now)
    # A new incident starts at its group's worst: there is nothing to raise.
    news = [_new_incident(groups[key], rules, title_of) for key in opening]
    placed_ids = {key: incident.id for key, incident in placed.items()}
    opened = open_incidents(session, news, rules=rules, actor=SYSTEM, now=now)
    placed_ids.update(zip(opening, opened, strict=True))
    return placed_ids


def _recently_resolved(
    session: Session, keys: list[str], groups: dict[str, list[StoredAlert]], *, rules: RuleFile
) -> dict[str, Incident]:
    """The last resolved incident of each key that may still reopen."""
    if not keys:
        return {}
    earliest = min(alert.starts_at for key in keys for alert in groups[key])
    found: dict[str, Incident] = {}
    for incident in session.scalars(
        select(Incident)
        .where(Incident.group_key.in_(keys))
        .where(Incident.state == State.RESOLVED.value)
        .where(Incident.resolved_at >= earliest - rules.reopen_window)
        .order_by(Incident.resolved_at)
        .with_for_update()
        .execution_options(populate_existing=True)
    ):
        assert incident.group_key is not None
        found[incident.group_key] = incident  # the latest wins
    return found


def _new_incident(
    members: Sequence[StoredAlert], rules: RuleFile, title_of: TitleOf
) -> NewIncident:
    first = min(members, key=lambda alert: (alert.starts_at, alert.id))
    severity = worst(
        members,
        rules,
        Severity(first.level, first.priority or rules.spec.defaults.priority, Impact.NONE),
    )
    return NewIncident(
        title=title_of(first),
        service=first.service or rules.spec.defaults.service,
        priority=severity.priority,
        level=severity.level,
        category=first.category or rules.spec.defaults.category.value,
        impact=severity.impact.value,
        source="alert",
        group_key=first.group_key,
        started_at=first.starts_at,
    )


def _raise(
    session: Session,
    incident: Incident,
    members: Sequence[StoredAlert],
    *,
    rules: RuleFile,
    now: datetime,
) -> None:
    """A more severe alert raises the incident's level, priority and impact; none lowers them."""
    before = Severity(incident.level, incident.priority, Impact(incident.impact))
    after = worst(members, rules, before)
    if after == before:
        return
    changed_before, changed_after = changed_fields(before, after)
    incident.level = after.level
    incident.priority = after.priority
    incident.impact = after.impact.value
    if after.priority != before.priority:
        apply_due_times(incident, rules)
    add_events(
        session,
        [
            NewEvent(
                incident.id,
                now,
                SYSTEM,
                "raised",
                before=changed_before,
                after=changed_after,
                note="a more severe alert joined the incident",
            )
        ],
    )
    if after.level != before.level:
        notify(
            session,
            incident,
            contacts=level_contacts(rules, after.level),
            reason="raised",
            key=f"level/{after.level}",
            now=now,
        )


def _resolve_finished(
    session: Session, resolving: set[int], *, rules: RuleFile, now: datetime
) -> None:
    # The rows first, for update: an attach in flight (holding a share lock) commits before
    # the firing alerts are counted, so an alert that just joined is seen.
    candidates = list(
        session.scalars(
            select(Incident)
            .where(Incident.id.in_(sorted(resolving)))
            .where(Incident.state.in_(ACTIVE_STATES))
            .where(Incident.source == "alert")
            .order_by(Incident.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    if not candidates:
        return
    counts = count_firing_alerts(session, [incident.id for incident in candidates])
    resolved = []
    for incident in candidates:
        firing, last_end = counts.get(incident.id, (0, None))
        if firing:
            continue
        resolved.append(incident)
        resolve_incident(
            session,
            incident,
            at=min(max(last_end or now, incident.opened_at), now),
            actor=SYSTEM,
            rules=rules,
            now=now,
            note="every alert of the incident has resolved",
        )
    notify_followers(session, resolved, reason="resolved", now=now)
