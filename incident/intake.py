"""Alerts into incidents, inside the ingestion transaction.

After the upsert, the stored rows say what is new: a firing instance with no incident yet
needs a place (attach, reopen or open), and an instance this transaction resolved may
leave its incident with nothing firing (auto-resolve). Repeats of known alerts need
neither and cost nothing here. Decisions for a group key are taken under a lock on that key,
so concurrent deliveries for one group never open two incidents.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import Table, bindparam, select, text, update
from sqlalchemy.orm import Session

from collector.alerts import AlertStatus
from collector.models import AlertInstance
from collector.store import StoredAlert
from incident.changes import reopen_incident, resolve_incident
from incident.grouping import Placement, ResolvedIncident, place_alert, raise_priority, worse_impact
from incident.lifecycle import State
from incident.models import Incident
from incident.notices import level_contacts, notify
from incident.opening import NewIncident, open_incidents
from incident.sla import apply_due_times
from incident.store import ACTIVE_STATES, SYSTEM, count_firing_alerts, lock_group_keys
from incident.timeline import NewEvent, add_events
from rules.policy import RuleFile
from rules.schema import Impact

__all__ = ["TitleOf", "process_alerts"]

TitleOf = Callable[[StoredAlert], str]
# The table, not the class: an ORM UPDATE would also look for the rows in the session.
_ALERTS = typing.cast(Table, AlertInstance.__table__)


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
    tolerances = {key: _tolerance(members, rules) for key, members in groups.items()}
    if session.get_bind().dialect.name == "postgresql":
        done = _attach_postgresql(session, groups, tolerances, now)
        attached: dict[str, int] = {}
    else:
        done = {}
        attached = _attachable(session, tolerances)
    rest = sorted(key for key in groups if key not in attached and key not in done)
    if rest:
        lock_group_keys(session, rest)
        attached.update(_decide(session, {key: groups[key] for key in rest}, rules, title_of, now))
    ordered = sorted(attached.items(), key=lambda item: item[1])
    _set_incident_ids(
        session,
        sorted((alert.id, incident_id) for key, incident_id in ordered for alert in groups[key]),
    )
    add_events(
        session,
        [
            NewEvent(incident_id, now, SYSTEM, "alerts_attached", after=_attached(groups[key]))
            for key, incident_id in ordered
        ],
    )


def _set_incident_ids(session: Session, pairs: Sequence[tuple[int, int]]) -> None:
    """Point each alert of `pairs` (alert id, incident id; in alert id order, so rows are
    locked in one order) at its incident, in one statement."""
    if not pairs:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "UPDATE alerts SET incident_id = v.incident_id"
                " FROM unnest(CAST(:alert_ids AS bigint[]), CAST(:incident_ids AS bigint[]))"
                " AS v(alert_id, incident_id) WHERE alerts.id = v.alert_id"
            ),
            {"alert_ids": [a for a, _ in pairs], "incident_ids": [i for _, i in pairs]},
        )
        return
    session.execute(
        update(_ALERTS)
        .where(_ALERTS.c.id == bindparam("alert_id"))
        .values(incident_id=bindparam("new_incident_id")),
        [{"alert_id": alert_id, "new_incident_id": incident_id} for alert_id, incident_id in pairs],
    )


def _attached(members: Sequence[StoredAlert]) -> dict[str, object]:
    """What an `alerts_attached` timeline entry records."""
    return {
        "alerts": len(members),
        "fingerprints": sorted({alert.fingerprint for alert in members})[:20],
    }


@dataclass(frozen=True, slots=True)
class _Tolerance:
    """The incidents a group's alerts join without raising them.

    `levels`: the levels at least as severe as the alerts' worst known one (None when no
    alert has a level the rule file knows: then any level, none included, is left alone).
    `raised_priorities` and `raised_impacts`: the values the alerts would raise.
    """

    levels: tuple[str, ...] | None
    raised_priorities: tuple[str, ...]
    raised_impacts: tuple[str, ...]

    def leaves(self, level: str | None, priority: str, impact: str) -> bool:
        """Whether an incident with these values stays as it is."""
        return (
            (self.levels is None or level in self.levels)
            and priority not in self.raised_priorities
            and impact not in self.raised_impacts
        )


def _tolerance(members: Sequence[StoredAlert], rules: RuleFile) -> _Tolerance:
    # The alerts' own worst, folded from the mildest start; `_worst` of an incident with
    # these alerts is then the pairwise worse of the two, checked here value by value.
    ranks = {name: policy.rank for name, policy in rules.priorities.items()}
    mildest = max(ranks, key=ranks.__getitem__) if ranks else ""
    worst = _worst(members, rules, _Severity(None, mildest, Impact.NONE))
    levels = (
        None
        if worst.level is None
        else tuple(name for name in rules.levels if _worse_level(rules, name, worst.level) == name)
    )
    return _Tolerance(
        levels=levels,
        raised_priorities=tuple(
            name for name in ranks if raise_priority(name, worst.priority, ranks) != name
        ),
        raised_impacts=tuple(
            impact.value for impact in Impact if worse_impact(impact, worst.impact) != impact
        ),
    )


def _attachable(session: Session, tolerances: dict[str, _Tolerance]) -> dict[str, int]:
    """The groups whose active incident the alerts join as it is, under a shared row lock."""
    found: dict[str, int] = {}
    for incident_id, key, level, priority, impact in session.execute(
        select(Incident.id, Incident.group_key, Incident.level, Incident.priority, Incident.impact)
        .where(Incident.group_key.in_(sorted(tolerances)))
        .where(Incident.state.in_(ACTIVE_STATES))
        .order_by(Incident.id)
        .with_for_update(read=True)
    ):
        if key is not None and tolerances[key].leaves(level, priority, impact):
            found[key] = incident_id
    return found


# The same as `_attachable` followed by the UPDATE of the alerts and the timeline entry, in
# one statement: the common case costs one round trip and no ORM work.
_ATTACH_POSTGRESQL = f"""
WITH wanted AS (
    SELECT * FROM jsonb_to_recordset(%(groups)s::jsonb) AS w(
        group_key text, alert_ids bigint[], levels text[],
        raised_priorities text[], raised_impacts text[], after jsonb)
), attachable AS (
    SELECT incidents.id, incidents.group_key
    FROM incidents JOIN wanted ON incidents.group_key = wanted.group_key
    WHERE incidents.state IN ({", ".join(f"'{state}'" for state in ACTIVE_STATES)})
      AND (wanted.levels IS NULL OR incidents.level = ANY (wanted.levels))
      AND NOT (incidents.priority = ANY (wanted.raised_priorities))
      AND NOT (incidents.impact = ANY (wanted.raised_impacts))
    ORDER BY incidents.id
    FOR SHARE OF incidents
), attached AS (
    UPDATE alerts SET incident_id = attachable.id
    FROM attachable JOIN wanted ON attachable.group_key = wanted.group_key
    WHERE alerts.id = ANY (wanted.alert_ids)
), logged AS (
    INSERT INTO incident_events (incident_id, at, actor, kind, after)
    SELECT attachable.id, %(now)s, %(actor)s, 'alerts_attached', wanted.after
    FROM attachable JOIN wanted ON attachable.group_key = wanted.group_key
)
SELECT group_key, id FROM attachable
"""


def _attach_postgresql(
    session: Session,
    groups: dict[str, list[StoredAlert]],
    tolerances: dict[str, _Tolerance],
    now: datetime,
) -> dict[str, int]:
    """Attach where the active incident stays as it is; the incident of each group attached."""
    wanted = [
        {
            "group_key": key,
            "alert_ids": sorted(alert.id for alert in members),
            "levels": tolerances[key].levels,
            "raised_priorities": tolerances[key].raised_priorities,
            "raised_impacts": tolerances[key].raised_impacts,
            "after": _attached(members),
        }
        for key, members in sorted(groups.items())
    ]
    rows = session.connection().exec_driver_sql(
        _ATTACH_POSTGRESQL,
        {"groups": orjson.dumps(wanted).decode(), "now": now, "actor": SYSTEM},
    )
    return {row[0]: row[1] for row in rows}


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


@dataclass(frozen=True, slots=True)
class _Severity:
    level: str | None
    priority: str
    impact: Impact


def _worst(members: Sequence[StoredAlert], rules: RuleFile, start: _Severity) -> _Severity:
    level, priority, impact = start.level, start.priority, start.impact
    ranks = {name: policy.rank for name, policy in rules.priorities.items()}
    for alert in members:
        if alert.priority in ranks and priority in ranks:
            priority = raise_priority(priority, alert.priority, ranks)
        if alert.impact is not None:
            impact = worse_impact(impact, Impact(alert.impact))
        level = _worse_level(rules, level, alert.level)
    return _Severity(level, priority, impact)


def _worse_level(rules: RuleFile, current: str | None, candidate: str | None) -> str | None:
    if candidate is None or candidate not in rules.levels:
        return current
    if current is None or current not in rules.levels:
        return candidate
    return candidate if rules.levels[candidate].rank > rules.levels[current].rank else current


def _new_incident(
    members: Sequence[StoredAlert], rules: RuleFile, title_of: TitleOf
) -> NewIncident:
    first = min(members, key=lambda alert: (alert.starts_at, alert.id))
    severity = _worst(
        members,
        rules,
        _Severity(first.level, first.priority or rules.spec.defaults.priority, Impact.NONE),
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
    before = _Severity(incident.level, incident.priority, Impact(incident.impact))
    after = _worst(members, rules, before)
    if after == before:
        return
    changed_before: dict[str, str | None] = {}
    changed_after: dict[str, str | None] = {}
    for name in ("level", "priority", "impact"):
        old, new = getattr(before, name), getattr(after, name)
        if old != new:
            changed_before[name] = str(old) if old is not None else None
            changed_after[name] = str(new) if new is not None else None
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
    for incident in candidates:
        firing, last_end = counts.get(incident.id, (0, None))
        if firing:
            continue
        resolve_incident(
            session,
            incident,
            at=min(max(last_end or now, incident.opened_at), now),
            actor=SYSTEM,
            rules=rules,
            now=now,
            note="every alert of the incident has resolved",
        )
