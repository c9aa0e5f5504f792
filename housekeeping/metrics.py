"""What housekeeping exports at `/metrics`: the rows it deleted, per table."""

from __future__ import annotations

from core.counter_metrics import CounterDefinition
from housekeeping.policy import TABLES
from housekeeping.sweeping import DELETED

__all__ = ["COUNTERS"]

COUNTERS = (
    CounterDefinition(
        DELETED,
        "Rows the housekeeping job deleted past their retention (SLAKEEPER_RETENTION_*_DAYS), "
        "per table.",
        ("table",),
        tuple((table,) for table in TABLES),
    ),
)
