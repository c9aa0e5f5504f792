"""What a batch of deliveries adds to the ingestion counters."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from collector.alerts import Delivery
from slakeeper.counters import CounterKey, counter_key

__all__ = ["ALERTS_RECEIVED", "ALERTS_TRUNCATED", "delivery_counts"]

ALERTS_RECEIVED = "slakeeper_alerts_received_total"
ALERTS_TRUNCATED = "slakeeper_alerts_truncated_total"


def delivery_counts(deliveries: Sequence[Delivery]) -> Counter[CounterKey]:
    """Alerts received per source and status, and alerts lost upstream per source."""
    counts: Counter[CounterKey] = Counter()
    for delivery in deliveries:
        source = delivery.source.value
        for alert in delivery.alerts:
            counts[counter_key(ALERTS_RECEIVED, source=source, status=alert.status.value)] += 1
        if delivery.truncated_alerts:
            counts[counter_key(ALERTS_TRUNCATED, source=source)] += delivery.truncated_alerts
    return counts
