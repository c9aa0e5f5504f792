"""What a batch of deliveries adds to the ingestion counters."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from collector.alerts import Delivery
from core.counters import CounterKey, counter_key

__all__ = ["ALERTS_RECEIVED", "ALERTS_TRUNCATED", "delivery_counts"]

ALERTS_RECEIVED = "slakeeper_alerts_received_total"
ALERTS_TRUNCATED = "slakeeper_alerts_truncated_total"


def delivery_counts(deliveries: Sequence[Delivery]) -> Counter[CounterKey]:
    """Alerts received per source and status, and alerts lost upstream per source."""
    received: Counter[tuple[str, str]] = Counter()
    truncated: Counter[str] = Counter()
    for delivery in deliveries:
        source = delivery.source.value
        received.update((source, alert.status.value) for alert in delivery.alerts)
        truncated[source] += delivery.truncated_alerts
    counts: Counter[CounterKey] = Counter()
    for (source, status), count in received.items():
        counts[counter_key(ALERTS_RECEIVED, source=source, status=status)] = count
    for source, count in truncated.items():
        if count:
            counts[counter_key(ALERTS_TRUNCATED, source=source)] = count
    return counts
