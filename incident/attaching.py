"""Alerts joining the active incident of their group as it is: the common case of intake.

Decided in SQL without loading the incident: a group's `Tolerance` says which incidents its
alerts leave unchanged. On PostgreSQL the decision, the UPDATE of the alerts and the timeline
entry are one statement.
"""

from __future__ import annotations

import typing
from collections.abc import Sequence
from datetime import datetime

import orjson
from sqlalchemy import Table, bindparam, select, text, update
from sqlalchemy.orm import Session

from collector.models import AlertInstance
from collector.store import StoredAlert
from incident.models import Incident
from incident.severity import Tolerance
from incident.store import ACTIVE_STATES, SYSTEM

__all__ = ["attach_postgresql", "attachable", "attached_entry", "set_incident_ids"]

# The table, not the class: an ORM UPDATE would also look for the rows in the session.
_ALERTS = typing.cast(Table, AlertInstance.__table__)


def attachable(session: Session, tolerances: dict[str, Tolerance]) -> dict[str, int]:
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


# The same as `attachable` followed by the UPDATE of the alerts and the timeline entry, in
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


def attach_postgresql(
    session: Session,
    groups: dict[str, list[StoredAlert]],
    tolerances: dict[str, Tolerance],
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
            "after": attached_entry(members),
        }
        for key, members in sorted(groups.items())
    ]
    rows = session.connection().exec_driver_sql(
        _ATTACH_POSTGRESQL,
        {"groups": orjson.dumps(wanted).decode(), "now": now, "actor": SYSTEM},
    )
    return {row[0]: row[1] for row in rows}


def set_incident_ids(session: Session, pairs: Sequence[tuple[int, int]]) -> None:
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


def attached_entry(members: Sequence[StoredAlert]) -> dict[str, object]:
    """What an `alerts_attached` timeline entry records."""
    return {
        "alerts": len(members),
        "fingerprints": sorted({alert.fingerprint for alert in members})[:20],
    }
