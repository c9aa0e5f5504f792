"""SQL of the persisted downtime counters (`availability.models.DowntimeCounter`), and of
the unknown-time counters kept the same way (`UnknownCounter`, passed as `table`).

Every replica reads and writes the same rows; each write is safe against the others: a
checkpoint moves only from the position it was read at, and the exported high-water mark
only goes up.
"""

from __future__ import annotations

import typing
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from availability.live import CounterState, CounterUpdate
from availability.models import DowntimeCounter
from core.database import dialect_insert

__all__ = ["counters_changed", "load_counters", "save_counters"]

_TABLE = typing.cast(Table, DowntimeCounter.__table__)


def load_counters(
    session: Session, services: Sequence[str], *, start_us: int, table: Table = _TABLE
) -> tuple[CounterState, NDArray[np.bool_]]:
    """The counters of `services`, in their order, and which are not stored yet (those
    start at 0 with their checkpoint at `start_us`). Reads only."""
    stored = _read(session, table)
    rows = [stored.get(name, (start_us, 0, 0)) for name in services]
    state = CounterState(
        settled_through=np.array([row[0] for row in rows], dtype=np.int64),
        settled=np.array([row[1] for row in rows], dtype=np.int64),
        exported=np.array([row[2] for row in rows], dtype=np.int64),
    )
    return state, np.array([name not in stored for name in services], dtype=np.bool_)


def _read(session: Session, table: Table) -> dict[str, tuple[int, int, int]]:
    column = table.c
    query = select(column.service, column.settled_through_us, column.settled_us, column.exported_us)
    return {
        name: (int(through), int(settled), int(exported))
        for name, through, settled, exported in session.execute(query)
    }


def save_counters(
    session: Session,
    services: Sequence[str],
    before: CounterState,
    after: CounterUpdate,
    missing: NDArray[np.bool_],
    *,
    table: Table = _TABLE,
) -> None:
    """Persist what changed: new counters, raised high-water marks, moved checkpoints."""
    new = np.flatnonzero(missing)
    if len(new):
        # A counter another replica created first stands: it measures the same windows.
        statement = dialect_insert(session, table).on_conflict_do_nothing(
            index_elements=["service"]
        )
        session.execute(
            statement,
            [
                {
                    "service": services[int(i)],
                    "settled_through_us": int(after.settled_through[i]),
                    "settled_us": int(after.settled[i]),
                    "exported_us": int(after.value[i]),
                }
                for i in new
            ],
        )
    greatest = func.greatest if session.get_bind().dialect.name == "postgresql" else func.max
    column = table.c
    raised = np.flatnonzero(~missing & (after.value > before.exported))
    if len(raised):
        session.execute(
            update(table)
            .where(column.service == bindparam("name"))
            .values(exported_us=greatest(column.exported_us, bindparam("value"))),
            [{"name": services[int(i)], "value": int(after.value[i])} for i in raised],
        )
    moved = np.flatnonzero(~missing & after.advance)
    if len(moved):
        session.execute(
            update(table)
            .where(column.service == bindparam("name"))
            .where(column.settled_through_us == bindparam("old_through"))
            .values(settled_through_us=bindparam("through"), settled_us=bindparam("settled")),
            [
                {
                    "name": services[int(i)],
                    "old_through": int(before.settled_through[i]),
                    "through": int(after.settled_through[i]),
                    "settled": int(after.settled[i]),
                }
                for i in moved
            ],
        )


def counters_changed(
    before: CounterState, after: CounterUpdate, missing: NDArray[np.bool_]
) -> bool:
    """Whether `save_counters` has anything to write."""
    return bool(missing.any() or after.advance.any() or (after.value > before.exported).any())
