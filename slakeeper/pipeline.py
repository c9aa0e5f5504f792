"""The ingestion pipeline: every accepted delivery ends in one call to `Pipeline.ingest`.

`apply_deliveries` is what happens to a batch of deliveries inside one transaction;
the rule engine (classification) and the incident domain extend it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from collector.alerts import Delivery, combine_observations, place_observations
from collector.counts import delivery_counts
from collector.store import firing_starts, record_deliveries, upsert_alert_instances
from rules.engine import RuleSet
from slakeeper.counters import add_to_counters
from slakeeper.writer import GroupCommitWriter

__all__ = ["Pipeline", "apply_deliveries"]


def apply_deliveries(session: Session, deliveries: Sequence[Delivery], ruleset: RuleSet) -> None:
    """Classify and store the alerts of `deliveries`, their envelopes and their counts."""
    observations = [alert for delivery in deliveries for alert in delivery.alerts]
    without_start = (o.fingerprint for o in observations if o.starts_at is None)
    placed = place_observations(observations, firing_starts(session, without_start))
    updates = combine_observations(placed)
    for update in updates:
        # Stored only when the instance is new: a repeat never changes its classification.
        classification = ruleset.classify(update.labels)
        update.service = classification.service
        update.level = classification.level
        update.priority = classification.priority
        update.category = classification.category.value
        update.impact = classification.impact.value
        update.group_key = classification.group_key
    upsert_alert_instances(session, updates)
    record_deliveries(session, deliveries)
    add_to_counters(session, delivery_counts(deliveries))


class Pipeline:
    """Accepts deliveries and returns once they are committed."""

    def __init__(self, engine: Engine, *, queue_limit: int, ruleset: Callable[[], RuleSet]) -> None:
        # SQLite has one writer at a time; PostgreSQL overlaps one transaction's commit
        # with the next one's work.
        threads = 1 if engine.dialect.name == "sqlite" else 2
        self._ruleset = ruleset
        self._writer: GroupCommitWriter[Delivery] = GroupCommitWriter(
            self._apply,
            engine,
            threads=threads,
            queue_limit=queue_limit,
            name="ingest-writer",
        )

    def _apply(self, session: Session, deliveries: Sequence[Delivery]) -> None:
        # The rules in force when the batch is written; a reload applies from the next batch.
        apply_deliveries(session, deliveries, self._ruleset())

    def start(self) -> None:
        self._writer.start()

    def stop(self) -> None:
        self._writer.stop()

    @property
    def alive(self) -> bool:
        return self._writer.alive

    async def ingest(self, delivery: Delivery) -> None:
        """Store `delivery`; raise `DatabaseUnavailable` or `WriterOverloaded` if it cannot be."""
        await self._writer.submit(delivery, size=max(1, len(delivery.alerts)))
