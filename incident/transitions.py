"""What acknowledging, resolving, closing and reopening do to an incident, written once.

Pure: each function takes the incident's current values and `now` and returns a `Change`,
the fields to set and the timeline entry that records it, or raises `InvalidTransition`
when the state does not allow the action (the API answers 409). `incident.changes.apply_change`
is the one place that applies a `Change`; what follows a transition (clocks, breaches)
stays with the caller that knows the rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from incident.lifecycle import Action, State, transition

__all__ = ["Change", "Current", "acknowledged", "closed", "reopened", "resolved"]


@dataclass(frozen=True, slots=True)
class Current:
    """What a transition reads of the incident."""

    state: State
    resolved_at: datetime | None = None
    flap_count: int = 0


@dataclass(frozen=True, slots=True)
class Change:
    """The fields a transition sets (`updated_at` among them) and its timeline entry."""

    fields: Mapping[str, Any]
    kind: str
    before: Mapping[str, Any]
    after: Mapping[str, Any]


def acknowledged(current: Current, *, actor: str, now: datetime) -> Change:
    """Someone works on it from `now`: the response clock stops."""
    return _change(
        current,
        Action.ACK,
        "acknowledged",
        now,
        {"acknowledged_at": now, "acknowledged_by": actor},
    )


def resolved(current: Current, *, at: datetime, actor: str, now: datetime) -> Change:
    """Restored as of `at` (a late resolved notification may date it before `now`)."""
    return _change(
        current,
        Action.RESOLVE,
        "resolved",
        now,
        {"resolved_at": at, "resolved_by": actor},
        after={"resolved_at": at},
    )


def closed(current: Current, *, confirmed_by: str, now: datetime) -> Change:
    """The resolution is confirmed by `confirmed_by`: the incident is done."""
    return _change(
        current,
        Action.CLOSE,
        "closed",
        now,
        {"closed_at": now, "closed_by": confirmed_by},
        after={"confirmed_by": confirmed_by},
    )


def reopened(current: Current, *, flap: bool, now: datetime) -> Change:
    """Open again; a flap (the group fired again by itself) is counted."""
    flap_count = current.flap_count + 1 if flap else current.flap_count
    return _change(
        current,
        Action.REOPEN,
        "reopened",
        now,
        {
            "resolved_at": None,
            "resolved_by": None,
            "closed_at": None,
            "closed_by": None,
            "resolution_seconds": None,
            "flap_count": flap_count,
        },
        before={"resolved_at": current.resolved_at},
        after={"flap_count": flap_count},
    )


def _change(
    current: Current,
    action: Action,
    kind: str,
    now: datetime,
    fields: Mapping[str, Any],
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> Change:
    state = transition(current.state, action)
    return Change(
        fields={"state": state.value, **fields, "updated_at": now},
        kind=kind,
        before={"state": current.state.value, **(before or {})},
        after={"state": state.value, **(after or {})},
    )
