"""The incident lifecycle: open → acknowledged → resolved → closed, and reopen.

Pure: no database, no clock of its own. A person's action that the current state does not
allow raises `InvalidTransition` (the API answers 409).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Action", "InvalidTransition", "State", "transition"]


class State(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def is_active(self) -> bool:
        """Open or acknowledged: the incident is still being worked on."""
        return self in (State.OPEN, State.ACKNOWLEDGED)


class Action(StrEnum):
    ACK = "ack"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"


_ALLOWED_FROM = {
    Action.ACK: (State.OPEN,),
    Action.RESOLVE: (State.OPEN, State.ACKNOWLEDGED),
    Action.CLOSE: (State.RESOLVED,),
    Action.REOPEN: (State.RESOLVED, State.CLOSED),
}
_LEADS_TO = {
    Action.ACK: State.ACKNOWLEDGED,
    Action.RESOLVE: State.RESOLVED,
    Action.CLOSE: State.CLOSED,
    Action.REOPEN: State.OPEN,
}


class InvalidTransition(ValueError):
    """An action the incident's state does not allow."""

    def __init__(self, action: Action, state: State) -> None:
        allowed = ", ".join(_ALLOWED_FROM[action])
        super().__init__(
            f"cannot {action.value} an incident that is {state.value} (only from: {allowed})"
        )
        self.action = action
        self.state = state


def transition(state: State, action: Action) -> State:
    """The state `action` leads to from `state`; InvalidTransition if it is not allowed."""
    if state not in _ALLOWED_FROM[action]:
        raise InvalidTransition(action, state)
    return _LEADS_TO[action]
