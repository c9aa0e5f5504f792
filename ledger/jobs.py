"""The signed month's scheduled work: measuring closed months again for changes since close."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from core.database import writing_session
from ledger.policies import rules_of
from ledger.watching import Measured, measure_closed, record_changes, watched_months
from rules.policy import RuleFile

__all__ = ["watch_changes"]


def watch_changes(engine: Engine, *, rules: RuleFile, now: datetime) -> int:
    """Record the changes since close of every watched closed month; how many are new.

    Measuring reads, in a session of its own; only the changes found are written, in a short
    transaction (on SQLite a long one would hold every writer back).
    """
    measured: Measured = []
    with Session(engine) as session:
        found = rules_of(session, rules)
        for month in watched_months(session, now=now):
            measured += measure_closed(session, month=month, rules_of=found, now=now)
    if not measured:
        return 0
    with writing_session(engine) as session:
        return len(record_changes(session, measured, now=now))
