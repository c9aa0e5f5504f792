"""The ingestion pipeline: every accepted delivery ends in one call to `Pipeline.ingest`.

`apply_deliveries` is what happens to a batch of deliveries inside one transaction:
classification, the upsert, and what the new and resolved alerts do to incidents.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from collector.alerts import (
    AlertInstanceUpdate,
    Delivery,
    combine_observations,
    place_observations,
    slices,
)
from collector.counts import delivery_counts
from collector.store import StoredAlert, firing_starts, record_deliveries, upsert_alert_instances
from incident.intake import process_alerts
from rules.policy import RuleFile
from slakeeper.counters import add_to_counters
from slakeeper.writer import GroupCommitWriter

__all__ = ["SLICE_ALERTS", "Pipeline", "apply_deliveries"]

# A push of more alerts is written in slices of about this many (whole groups in each), so
# that a push arriving meanwhile waits for one slice, not for the whole push.
SLICE_ALERTS = 250


def apply_deliveries(
    session: Session, deliveries: Sequence[Delivery], *, rules: RuleFile, now: datetime
) -> None:
    """Classify and store the alerts of `deliveries`, their envelopes and their counts, and
    open, raise or resolve the incidents they belong to."""
    ruleset = rules.ruleset
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
    stored = upsert_alert_instances(session, updates, now=now)
    by_key: dict[tuple[str, datetime], AlertInstanceUpdate] = {}

    def title_of(alert: StoredAlert) -> str:
        # Only an opening incident needs a title: the index is built then, not per batch.
        if not by_key:
            by_key.update((update.key, update) for update in updates)
        update = by_key[(alert.fingerprint, alert.starts_at)]
        return ruleset.classify(update.labels).title(update.labels, update.annotations)

    process_alerts(session, stored, rules=rules, title_of=title_of, now=now)
    record_deliveries(session, deliveries)
    add_to_counters(session, delivery_counts(deliveries))


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
