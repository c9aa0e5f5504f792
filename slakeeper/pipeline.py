"""The ingestion pipeline: every accepted delivery ends in one call to `Pipeline.ingest`.

`apply_deliveries` is what happens to a batch of deliveries inside one transaction;
the rule engine (classification) and the incident domain extend it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from collector.alerts import Delivery, combine_observations, place_observations
from collector.counts import delivery_counts
from collector.store import firing_starts, record_deliveries, upsert_alert_instances
from slakeeper.counters import add_to_counters
from slakeeper.writer import GroupCommitWriter

__all__ = ["Pipeline", "apply_deliveries"]


def apply_deliveries(session: Session, deliveries: Sequence[Delivery]) -> None:
    """Store the alerts of `deliveries`, their envelopes and their counts, in `session`."""
    observations = [alert for delivery in deliveries for alert in delivery.alerts]
    without_start = (o.fingerprint for o in observations if o.starts_at is None)
    placed = place_observations(observations, firing_starts(session, without_start))
    updates = combine_observations(placed)
    for update in updates:
        # Until rules classify alerts, an alert's service is its `service` label.
        update.service = update.labels.get("service") or None
    upsert_alert_instances(session, updates)
    record_deliveries(session, deliveries)
    add_to_counters(session, delivery_counts(deliveries))


class Pipeline:
    """Accepts deliveries and returns once they are committed."""

    def __init__(self, engine: Engine, *, queue_limit: int) -> None:
        # SQLite has one writer at a time; PostgreSQL overlaps one transaction's commit
        # with the next one's work.
        threads = 1 if engine.dialect.name == "sqlite" else 2
        self._writer: GroupCommitWriter[Delivery] = GroupCommitWriter(
            apply_deliveries,
            engine,
            threads=threads,
            queue_limit=queue_limit,
            name="ingest-writer",
        )

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
