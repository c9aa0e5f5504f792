"""Changes since close: a closed month measured again, compared with its record.

A late alert, a reclassification, a maintenance window planned back-dated or a blind window
found late changes what a closed month measures, never its record. `watch_month` measures
the closed services again with the rule file their records were computed under and keeps,
per record, at most one `pending` change: the newest difference from the record's basis
(its figures, or the change a manager accepted last). A difference that goes away
supersedes its pending change; only an `accept` adjustment applies one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from availability.periods import parse_month
from ledger import store
from ledger.arithmetic import basis_of, figures_of
from ledger.models import MonthAdjustment, MonthRecord, PendingChange
from ledger.records import digest_of, measure_month
from rules.policy import RuleFile

__all__ = [
    "Measured",
    "RulesOf",
    "measure_closed",
    "record_changes",
    "watch_closed_months",
    "watch_month",
    "watched_months",
]

RulesOf = Callable[[str], RuleFile]
"""The rule file of a digest (the server's own, or one stored in `rule_policies`)."""

# Months closed longer ago than this are not measured again by the job.
WATCHED_FOR = timedelta(days=400)


def _bases(session: Session, records: list[MonthRecord]) -> dict[int, dict[str, Any]]:
    """The figures each record's month stands on: its own, or its last accepted change's
    (all read in two queries)."""
    ids = [record.id for record in records]
    accepts = session.scalars(
        select(MonthAdjustment)
        .where(
            MonthAdjustment.record_id.in_(ids),
            MonthAdjustment.state == "applied",
            MonthAdjustment.action == "accept",
        )
        .order_by(MonthAdjustment.id)
    )
    last = {adjustment.record_id: adjustment.pending_change_id for adjustment in accepts}
    wanted = [change_id for change_id in last.values() if change_id is not None]
    changes = (
        {
            c.id: c
            for c in session.scalars(select(PendingChange).where(PendingChange.id.in_(wanted)))
        }
        if wanted
        else {}
    )
    bases: dict[int, dict[str, Any]] = {}
    for record in records:
        accepted = changes.get(last.get(record.id) or 0)
        bases[record.id] = accepted.figures if accepted is not None else record.figures
    return bases


def _pending(session: Session, ids: list[int]) -> dict[int, list[PendingChange]]:
    query = select(PendingChange).where(
        PendingChange.record_id.in_(ids), PendingChange.state == "pending"
    )
    found: dict[int, list[PendingChange]] = {}
    for change in session.scalars(query.order_by(PendingChange.id)):
        found.setdefault(change.record_id, []).append(change)
    return found


Measured = list[tuple[int, dict[str, Any]]]
"""(record id, the figures its month measures now), for `record_changes`."""


def measure_closed(session: Session, *, month: str, rules_of: RulesOf, now: datetime) -> Measured:
    """Measure the closed services of `month` again, each with its record's rule file
    (reads only: the writes of `record_changes` can then be short)."""
    year, number = parse_month(month)
    by_rules: dict[str, list[MonthRecord]] = {}
    for record in store.current_records(session, month):
        by_rules.setdefault(record.rules_digest, []).append(record)
    measured: Measured = []
    for digest, records in by_rules.items():
        _, live = measure_month(
            session,
            rules=rules_of(digest),
            year=year,
            month=number,
            services=[record.service for record in records],
            now=now,
        )
        measured += [(r.id, live[r.service]) for r in records if r.service in live]
    return measured


def record_changes(session: Session, measured: Measured, *, now: datetime) -> list[PendingChange]:
    """Record what differs from each record (still closed) as its pending change."""
    ids = [record_id for record_id, _ in measured]
    records = {
        record.id: record
        for record in session.scalars(
            select(MonthRecord).where(MonthRecord.id.in_(ids), MonthRecord.reopened_at.is_(None))
        )
    }
    bases = _bases(session, list(records.values()))
    pending = _pending(session, list(records))
    recorded: list[PendingChange] = []
    for record_id, live in measured:
        if record_id in records:
            change = _compare(
                records[record_id], bases[record_id], pending.get(record_id, []), live, now
            )
            if change is not None:
                session.add(change)
                recorded.append(change)
    session.flush()
    return recorded


def watch_month(
    session: Session, *, month: str, rules_of: RulesOf, now: datetime
) -> list[PendingChange]:
    """Measure the closed services of `month` again; record what differs. Returns the
    pending changes recorded now."""
    measured = measure_closed(session, month=month, rules_of=rules_of, now=now)
    return record_changes(session, measured, now=now)


def _compare(
    record: MonthRecord,
    basis: dict[str, Any],
    pending: list[PendingChange],
    live: dict[str, Any],
    now: datetime,
) -> PendingChange | None:
    """A new pending change if `live` differs from the basis and from the pending one."""
    fingerprint = digest_of(live["segments"])
    if fingerprint == digest_of(basis["segments"]):
        for change in pending:
            change.state, change.decided_at = "superseded", now
        return None
    if any(change.fingerprint == fingerprint for change in pending):
        return None
    for change in pending:
        change.state, change.decided_at = "superseded", now
    before, after = figures_of(basis_of(basis)), figures_of(basis_of(live))
    change = PendingChange(
        month=record.month,
        service=record.service,
        record_id=record.id,
        detected_at=now,
        figures=live,
        fingerprint=fingerprint,
        downtime_delta_us=after.downtime_us - before.downtime_us,
        maintenance_delta_us=after.maintenance_us - before.maintenance_us,
        unknown_delta_us=after.unknown_us - before.unknown_us,
        ratio_delta=after.availability_ratio - before.availability_ratio,
        state="pending",
    )
    return change


def watched_months(session: Session, *, now: datetime) -> list[str]:
    """The closed months of the last `WATCHED_FOR`, oldest first."""
    oldest = (now - WATCHED_FOR).strftime("%Y-%m")
    return [month for month in store.closed_months(session) if month >= oldest]


def watch_closed_months(
    session: Session, *, rules_of: RulesOf, now: datetime
) -> list[PendingChange]:
    """`watch_month` for every watched closed month."""
    recorded: list[PendingChange] = []
    for month in watched_months(session, now=now):
        recorded += watch_month(session, month=month, rules_of=rules_of, now=now)
    return recorded
