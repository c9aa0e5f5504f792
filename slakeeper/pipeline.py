"""The ingestion pipeline: every accepted delivery ends in one call to `Pipeline.ingest`.

What a batch of deliveries does inside its transaction is `incident.ingestion`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from collector.alerts import Delivery, slices
from core.writer import GroupCommitWriter
from incident.ingestion import apply_deliveries
from rules.policy import RuleFile

__all__ = ["SLICE_ALERTS", "Pipeline"]

# A push of more alerts is written in slices of about this many (whole groups in each), so
# that a push arriving meanwhile waits for one slice, not for the whole push.
SLICE_ALERTS = 250


class Pipeline:
    """Accepts deliveries and returns once they are committed."""

    def __init__(
        self,
        engine: Engine,
        *,
        queue_limit: int,
        rules: Callable[[], RuleFile],
        clock: Callable[[], datetime],
    ) -> None:
        # SQLite has one writer at a time; PostgreSQL overlaps one transaction's commit
        # with the next one's work.
        threads = 1 if engine.dialect.name == "sqlite" else 2
        self._rules = rules
        self._clock = clock
        self._writer: GroupCommitWriter[Delivery] = GroupCommitWriter(
            self._apply,
            engine,
            threads=threads,
            queue_limit=queue_limit,
            name="ingest-writer",
        )

    def _apply(self, session: Session, deliveries: Sequence[Delivery]) -> None:
        # The rules in force when the batch is written; a reload applies from the next batch.
        apply_deliveries(session, deliveries, rules=self._rules(), now=self._clock())

    def start(self) -> None:
        self._writer.start()

    def stop(self) -> None:
        self._writer.stop()

    @property
    def alive(self) -> bool:
        return self._writer.alive

    async def ingest(self, delivery: Delivery) -> None:
        """Store `delivery`; raise `DatabaseUnavailable` or `WriterOverloaded` if it cannot be.

        A large push is written slice by slice; it is answered once every slice is committed.
        A slice that fails fails the push, and the sender's retry writes it again: what the
        earlier slices stored is found and kept (instances are keyed by fingerprint and start).
        """
        if len(delivery.alerts) > SLICE_ALERTS:
            ruleset = self._rules().ruleset
            parts = slices(
                delivery, lambda alert: ruleset.classify(alert.labels).group_key, SLICE_ALERTS
            )
        else:
            parts = [delivery]
        for part in parts:
            await self._writer.submit(part, size=max(1, len(part.alerts)))
