"""SQL for the alerts held as firing, one per fingerprint, in fingerprint order."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.alertmanager_view import AlertSelection, HeldAlert, receiver_name
from collector.alerts import AlertStatus
from collector.models import AlertInstance
from collector.store import label_condition
from core.pages import SCAN_BUDGET_ROWS

__all__ = ["MAX_LISTED_ALERTS", "FiringList", "firing_alerts"]

# Alertmanager lists every alert it holds; slakeeper lists at most this many, and examines at
# most `SCAN_BUDGET_ROWS` firing rows to find them (regular expressions and the receiver are
# matched by RE2 in the application, as in `collector.store`).
MAX_LISTED_ALERTS = 10_000
_SCAN_CHUNK = 1_000

_COLUMNS = (
    AlertInstance.fingerprint,
    AlertInstance.starts_at,
    AlertInstance.last_received_at,
    AlertInstance.labels,
    AlertInstance.annotations,
    AlertInstance.generator_url,
    AlertInstance.origin_receiver,
    AlertInstance.source,
)


@dataclass(frozen=True, slots=True)
class FiringList:
    """The alerts listed, sorted by fingerprint; `truncated` if a bound stopped the list."""

    alerts: list[HeldAlert]
    truncated: bool


def firing_alerts(
    session: Session,
    selection: AlertSelection,
    *,
    limit: int = MAX_LISTED_ALERTS,
    scan_budget: int = SCAN_BUDGET_ROWS,
) -> FiringList:
    """The firing alerts `selection` admits, the latest instance of each fingerprint.

    Alertmanager holds one alert per label set; slakeeper may hold two firing instances of one
    (a new start before the old one's resolution arrived), and lists the one that began last.
    The list stops after `limit` alerts or `scan_budget` rows examined, whichever comes first:
    the alerts listed are then the first ones by fingerprint (or, after a stop on the budget,
    the first among the rows examined), and `truncated` is set.
    """
    if limit < 1 or scan_budget < 1:
        raise ValueError(f"limit ({limit}) and scan_budget ({scan_budget}) must be at least 1")
    if selection.excludes_everything:
        return FiringList([], truncated=False)
    conditions = [AlertInstance.status == AlertStatus.FIRING.value]
    conditions.extend(label_condition(m) for m in selection.equality_matchers)
    listed: list[HeldAlert] = []
    examined = 0
    last_seen: str | None = None
    while True:
        room = min(_SCAN_CHUNK, scan_budget - examined)
        statement = select(*_COLUMNS).where(*conditions)
        if last_seen is not None:
            # The older instances of `last_seen` left behind are the ones not listed anyway.
            statement = statement.where(AlertInstance.fingerprint > last_seen)
        statement = statement.order_by(
            AlertInstance.fingerprint, AlertInstance.starts_at.desc()
        ).limit(room)
        chunk = session.execute(statement).all()
        for row in chunk:
            examined += 1
            if row.fingerprint == last_seen:
                continue
            last_seen = row.fingerprint
            alert = HeldAlert(
                fingerprint=row.fingerprint,
                starts_at=row.starts_at,
                last_received_at=row.last_received_at,
                labels=row.labels,
                annotations=row.annotations,
                generator_url=row.generator_url,
                receiver=receiver_name(row.origin_receiver, row.source),
            )
            if selection.admits(alert):
                if len(listed) == limit:
                    return _sorted(listed, truncated=True)
                listed.append(alert)
        if len(chunk) < room:
            return _sorted(listed, truncated=False)
        if examined >= scan_budget:
            return _sorted(listed, truncated=True)


def _sorted(alerts: list[HeldAlert], *, truncated: bool) -> FiringList:
    # In code-point order, as Go compares strings, whatever the database's collation.
    return FiringList(sorted(alerts, key=lambda alert: alert.fingerprint), truncated)
