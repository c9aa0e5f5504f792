"""What the signed month exports at `/metrics`: the report's deliveries."""

from __future__ import annotations

from core.counter_metrics import CounterDefinition
from ledger.delivery import REPORT_DELIVERIES

__all__ = ["COUNTERS"]

COUNTERS = (
    CounterDefinition(
        REPORT_DELIVERIES,
        "Attempts to deliver the monthly report to a recipient of the rule file's `report:`, "
        "by outcome: sent; error (tried again after a back-off); abandoned (the last attempt "
        "failed, the delivery is given up).",
        ("outcome",),
        (("sent",), ("error",), ("abandoned",)),
    ),
)
