"""The stored Alertmanager silences of maintenance occurrences (`maintenance_silences`): read
for planning and showing, written with each run's outcomes. The caller holds the transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from availability.maintenance import MaintenanceDefinition
from availability.models import MaintenanceSilence
from availability.silences import SilenceRecord, SilenceState, window_keys
from core.database import dialect_insert

__all__ = ["live_records", "save_records", "silences_of_windows", "state_counts"]


def live_records(session: Session, *, now: datetime) -> list[SilenceRecord]:
    """The silences of occurrences that have not ended by `now`, by occurrence."""
    query = (
        select(MaintenanceSilence)
        .where(MaintenanceSilence.ends_at > now)
        .order_by(MaintenanceSilence.occurrence)
    )
    return [_record(row) for row in session.scalars(query)]


def _record(row: MaintenanceSilence) -> SilenceRecord:
    return SilenceRecord(
        occurrence=row.occurrence,
        service=row.service,
        window_id=row.window_id,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        matchers=row.matchers,
        comment=row.comment,
        silence_id=row.silence_id,
        state=SilenceState(row.state),
        attempts=row.attempts,
        last_error=row.last_error,
        updated_at=row.updated_at,
    )


def save_records(session: Session, records: Sequence[SilenceRecord], *, now: datetime) -> None:
    """Store `records`, each replacing the one of its occurrence."""
    if not records:
        return
    rows = [
        {
            "occurrence": record.occurrence,
            "service": record.service,
            "window_id": record.window_id,
            "starts_at": record.starts_at,
            "ends_at": record.ends_at,
            "matchers": record.matchers,
            "comment": record.comment,
            "silence_id": record.silence_id,
            "state": record.state.value,
            "attempts": record.attempts,
            "last_error": record.last_error,
            "updated_at": now,
        }
        for record in records
    ]
    statement = dialect_insert(session, MaintenanceSilence)
    changed = {name: statement.excluded[name] for name in rows[0] if name != "occurrence"}
    session.execute(
        statement.on_conflict_do_update(index_elements=["occurrence"], set_=changed), rows
    )


def silences_of_windows(
    session: Session, definitions: Sequence[MaintenanceDefinition], *, now: datetime
) -> list[list[SilenceRecord]]:
    """For each of `definitions` (in order), the silences of its occurrences not ended."""
    by_window: dict[str, list[SilenceRecord]] = {}
    for record in live_records(session, now=now):
        window, _, _start = record.occurrence.rpartition("/")
        by_window.setdefault(window, []).append(record)
    for records in by_window.values():
        records.sort(key=lambda record: record.starts_at)
    return [by_window.get(key, []) for key in window_keys(definitions)]


def state_counts(session: Session, *, now: datetime) -> Counter[SilenceState]:
    """How many occurrences not ended by `now` have their silence in each state."""
    query = (
        select(MaintenanceSilence.state, func.count())
        .where(MaintenanceSilence.ends_at > now)
        .group_by(MaintenanceSilence.state)
    )
    counts: Counter[SilenceState] = Counter(dict.fromkeys(SilenceState, 0))
    for state, count in session.execute(query):
        counts[SilenceState(state)] += int(count)
    return counts
