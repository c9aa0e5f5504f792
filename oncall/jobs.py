"""The sender job: deliver due notifications, a few at a time, until none is left."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from oncall.delivery import Transport, send_due
from rules.policy import RuleFile

__all__ = ["SEND_BATCH", "run_sender"]

# Messages claimed at a time. Delivering them, each on its channels one after another, must end
# well within the outbox's lease (120 s), or another replica could claim and send them again.
SEND_BATCH = 3


def run_sender(
    engine: Engine,
    *,
    rules: Callable[[], RuleFile],
    transport: Transport,
    clock: Callable[[], datetime],
    limit: int = SEND_BATCH,
    until: Callable[[], bool] = lambda: False,
) -> int:
    """Deliver the notifications that are due, `limit` at a time, until none is left or
    `until()` (checked between batches); returns how many messages were tried.

    A round claims only the oldest waiting message of each incident and contact, so it goes
    on while any is claimed: the next message of a stream is due as soon as the one before
    it went. A failed message is due again only after its back-off, so the rounds end.
    """
    tried = 0
    while not until():
        done = send_due(engine, rules=rules(), transport=transport, now=clock(), limit=limit)
        tried += done.messages
        if done.messages == 0:
            break
    return tried
