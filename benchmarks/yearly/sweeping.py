"""The housekeeping job's batch on a year-sized database.

Housekeeping keeps alert instances 400 days by default, so on a year nothing would go: the
sweep is run as of the year's end with alerts kept 90 days (no month is closed, so only the
alerts no figure counts go) and stopped after a few batches. Those rows are gone from the
built database afterwards: a reused database holds a few thousand alerts fewer each run.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event

from core.database import create_database_engine
from housekeeping.jobs import sweep
from housekeeping.policy import Retention
from rules.loader import DEFAULT_RULES, load_rule_file

__all__ = ["time_housekeeping"]

BATCHES = 5


def time_housekeeping(url: str, end: int, batch_size: int = 1000) -> str:
    """Run `BATCHES` batches of a sweep as of `end` (seconds since the epoch); their times."""
    engine = create_database_engine(url)
    stamps: list[float] = []
    rows: list[int] = []

    def until() -> bool:  # called before each batch
        stamps.append(time.perf_counter())
        return len(stamps) > BATCHES

    def deleted_rows(_c: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("DELETE"):
            rows.append(cursor.rowcount)

    retention = Retention(alerts=timedelta(days=90), batch_size=batch_size)
    event.listen(engine, "after_cursor_execute", deleted_rows)
    try:
        now = datetime.fromtimestamp(end, UTC)
        deleted = sweep(
            engine, rules=load_rule_file(DEFAULT_RULES), retention=retention, now=now, until=until
        )
    finally:
        event.remove(engine, "after_cursor_execute", deleted_rows)
        engine.dispose()
    spans = [1000 * (b - a) for a, b in zip(stamps, stamps[1:], strict=False)]
    batches = sorted(span for span, count in zip(spans, rows, strict=False) if count)
    if not batches:
        return "nothing to delete (no alert past 90 days that no figure counts)"
    gone = ", ".join(f"{count:,} {table}" for table, count in deleted.items() if count)
    return (
        f"{len(batches)} batches of up to {batch_size:,} rows deleted {gone}: median "
        f"{batches[len(batches) // 2]:.0f} ms, max {batches[-1]:.0f} ms per batch "
        "(its own transaction, commit included)"
    )
