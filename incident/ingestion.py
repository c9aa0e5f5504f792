"""The whole ingestion transaction: what one batch of deliveries does to the database.

Classification, the upsert of alert instances, what the new and resolved alerts do to
incidents, and the heartbeat receipts and lost alerts that tell blind time, in the caller's
transaction. Webhooks reach it through the shell's pipeline;
reconciliation applies its repairs through it too, so incidents open and auto-resolve
exactly as for a webhook.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from collector.alerts import (
    AlertInstanceUpdate,
    Delivery,
    combine_observations,
    place_observations,
)
from collector.counts import delivery_counts
from collector.heartbeats import record_blind_time
from collector.store import StoredAlert, firing_starts, record_deliveries, upsert_alert_instances
from core.counters import add_to_counters
from incident.intake import process_alerts
from incident.repairs import RECEIVER
from rules.policy import RuleFile

__all__ = ["apply_deliveries"]


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
    # What reconciliation found listed proves Alertmanager runs, not that its webhooks arrive.
    heard = [delivery for delivery in deliveries if delivery.receiver != RECEIVER]
    record_blind_time(session, heard, heartbeat=rules.heartbeat)
