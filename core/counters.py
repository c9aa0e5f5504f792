"""Durable event counters: incremented in the transaction that makes the event true.

Counters exported to Prometheus must survive restarts and agree across replicas, so they
live in the database. Each writing thread writes its own shard of a counter row, so
concurrent writers (almost) never wait on each other; readers sum the shards.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import orjson
from sqlalchemy import Float, Integer, String, Text, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.database import Base

__all__ = [
    "CounterKey",
    "EventCounter",
    "HistogramSeries",
    "add_to_counters",
    "counter_key",
    "histogram_observation",
    "read_counters",
]

_SHARDS = 64

CounterKey = tuple[str, str]


class EventCounter(Base):
    """One shard of one labelled counter."""

    __tablename__ = "event_counters"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    labels: Mapped[str] = mapped_column(Text, primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[float] = mapped_column(Float)


def _shard() -> int:
    # One shard per writing thread of each process, so writers never queue on a counter.
    return (os.getpid() * 7919 + threading.get_native_id()) % _SHARDS


def counter_key(name: str, **labels: str) -> CounterKey:
    """A counter's identity: its name and its labels in canonical JSON."""
    return (name, orjson.dumps(labels, option=orjson.OPT_SORT_KEYS).decode())


@dataclass(frozen=True, slots=True)
class HistogramSeries:
    """The counters a durable histogram keeps: per bucket (not cumulative: each observation
    adds to the first bucket whose bound holds it), their sum and their count."""

    name: str
    buckets: tuple[float, ...]  # upper bounds, increasing; +Inf is implied

    @property
    def bucket_counter(self) -> str:
        return f"{self.name}_bucket"

    @property
    def sum_counter(self) -> str:
        return f"{self.name}_sum"

    @property
    def count_counter(self) -> str:
        return f"{self.name}_count"


def histogram_observation(
    series: HistogramSeries, value: float, **labels: str
) -> dict[CounterKey, float]:
    """The counter increments that record one observation of `value`."""
    bound = next((b for b in series.buckets if value <= b), math.inf)
    return {
        counter_key(series.bucket_counter, le=_bound_label(bound), **labels): 1,
        counter_key(series.sum_counter, **labels): value,
        counter_key(series.count_counter, **labels): 1,
    }


def _bound_label(bound: float) -> str:
    # The exposition format's spelling: "+Inf", and floats as Go prints them ("60.0").
    return "+Inf" if math.isinf(bound) else repr(float(bound))


def add_to_counters(session: Session, increments: Mapping[CounterKey, float]) -> None:
    """Add to counters inside the caller's transaction."""
    rows = [
        {"name": name, "labels": labels, "shard": _shard(), "value": value}
        for (name, labels), value in sorted(increments.items())
        if value
    ]
    if not rows:
        return
    # Through the connection: the ORM's bulk path cost more than the statement (py-spy).
    connection = session.connection()
    connection.execute(_increment(connection.dialect.name), rows)


@cache
def _increment(dialect: str) -> Any:
    """The statement that adds to a counter, built once per dialect."""
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(EventCounter)
    return statement.on_conflict_do_update(
        index_elements=["name", "labels", "shard"],
        set_={"value": EventCounter.value + statement.excluded.value},
    )


def read_counters(session: Session) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Every counter with its labelled totals, summed over shards."""
    result: dict[str, list[tuple[dict[str, str], float]]] = {}
    query = select(EventCounter.name, EventCounter.labels, func.sum(EventCounter.value)).group_by(
        EventCounter.name, EventCounter.labels
    )
    for name, labels, total in session.execute(query):
        result.setdefault(name, []).append((orjson.loads(labels), float(total)))
    return result
