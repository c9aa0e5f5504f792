"""`slakeeper demo`: realistic months of alerts and incidents, loaded through the real paths.

`scenario` plans the months as timed events (from `stories`, with the services and alerts
`kinds` finds in the rule file, as `events`), `simulation` applies them on a virtual clock,
and `summary` says what the database holds afterwards.
"""

from slakeeper.demo.kinds import ScenarioError
from slakeeper.demo.simulation import (
    SLA_CHECK_EVERY,
    DatabaseNotEmpty,
    default_months,
    run_demo,
    webhook_payload,
)
from slakeeper.demo.summary import DemoSummary, format_summary

__all__ = [
    "SLA_CHECK_EVERY",
    "DatabaseNotEmpty",
    "DemoSummary",
    "ScenarioError",
    "default_months",
    "format_summary",
    "run_demo",
    "webhook_payload",
]
