"""The signed month's scheduled work: measuring closed months again for changes since close."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from core.database import writing_session
from ledger.policies import rules_of
from ledger.watching import watch_closed_months
from rules.policy import RuleFile

__all__ = ["watch_changes"]


def watch_changes(engine: Engine, *, rules: RuleFile, now: datetime) -> int:
    """Record the changes since close of every watched closed month; how many are new."""
    with writing_session(engine) as session:
        return len(watch_closed_months(session, rules_of=rules_of(session, rules), now=now))
