"""The housekeeping job: every table's rows past their retention, deleted in batches."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from housekeeping.policy import TABLES, Retention, watched_from
from housekeeping.sweeping import (
    alert_selections,
    closed_months_per_service,
    dated_selection,
    delete_in_batches,
    runs_of,
)
from ledger.watching import WATCHED_FOR
from rules.policy import RuleFile

__all__ = ["HousekeepingJob", "sweep"]

log = logging.getLogger(__name__)


def sweep(
    engine: Engine,
    *,
    rules: RuleFile,
    retention: Retention,
    now: datetime,
    until: Callable[[], bool] = lambda: False,
) -> dict[str, int]:
    """Delete what `retention` lets go at `now` (stopping early once `until()` is true);
    the rows deleted per table."""
    deleted = dict.fromkeys(TABLES, 0)
    for table in TABLES:
        cutoff = retention.cutoff(table, now)
        if cutoff is None:
            continue
        if table == "alerts":
            with Session(engine) as session:
                closed = closed_months_per_service(session)
            runs = runs_of(
                closed,
                oldest_watched=watched_from(now, WATCHED_FOR),
                zone_of=lambda name: rules.service(name).timezone,
            )
            selections = list(alert_selections(cutoff, runs))
        else:
            selections = [dated_selection(table, cutoff)]
        for selection in selections:
            deleted[table] += delete_in_batches(
                engine, table, selection, limit=retention.batch_size, until=until
            )
    return deleted


class HousekeepingJob:
    """`sweep` as a scheduled job, with the rules `rules()` returns and the time `clock()`
    gives (`retention`: the defaults when None); logs a line for a run that deleted anything."""

    def __init__(
        self,
        engine: Engine,
        *,
        rules: Callable[[], RuleFile],
        clock: Callable[[], datetime],
        retention: Retention | None = None,
        until: Callable[[], bool] = lambda: False,
    ) -> None:
        self._engine = engine
        self._rules = rules
        self._clock = clock
        self._retention = retention or Retention()
        self._until = until

    def __call__(self) -> None:
        deleted = sweep(
            self._engine,
            rules=self._rules(),
            retention=self._retention,
            now=self._clock(),
            until=self._until,
        )
        if any(deleted.values()):
            log.info(
                "housekeeping deleted %s",
                ", ".join(f"{count} {table}" for table, count in deleted.items() if count),
            )
