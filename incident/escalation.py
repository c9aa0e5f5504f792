"""Which escalation steps are due for an incident at `now`.

Each step fires at most once per incident; the caller passes the steps already fired (the
database guarantees it with a unique constraint). A step stops applying once its `unless`
condition holds: `resolved` (the default) or `acknowledged`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from incident.lifecycle import State
from rules.policy import EscalationStep

__all__ = ["due_steps"]


def due_steps(
    steps: Sequence[EscalationStep],
    *,
    state: State,
    opened_at: datetime,
    fired: Collection[int],
    now: datetime,
) -> list[EscalationStep]:
    """The steps of `steps` whose time has come and that neither fired nor stopped applying."""
    if not state.is_active:
        return []
    acknowledged = state is State.ACKNOWLEDGED
    return [
        step
        for step in steps
        if step.index not in fired
        and not (step.unless == "acknowledged" and acknowledged)
        and step.after.deadline(opened_at) <= now
    ]
