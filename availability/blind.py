"""Blind time read from the database: when slakeeper could not know whether a service was up.

Three causes, each blind for every service:

- the heartbeat alert (the rule file's `heartbeat`) not received for longer than its
  interval: the gaps between the receipts of every source together;
- slakeeper's own downtime: gaps longer than `SELF_GAP` in the spans its scheduler records;
- pushes that lost alerts upstream (`truncatedAlerts > 0`): their recorded windows.

The gaps are measured with the rule file in force (`availability.gaps`); what counts of the
blind time, and how, is `availability.intervals` and `availability.figures`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from availability.gaps import heartbeat_gaps
from availability.intervals import Micros, Windows
from availability.periods import Period, to_micros
from collector.heartbeats import SELF_GAP, SELF_SOURCE
from collector.models import BlindWindow, HeartbeatSpan
from rules.policy import HeartbeatPolicy

__all__ = ["blind_windows", "load_blind_time"]


def load_blind_time(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    now: datetime,
    heartbeat: HeartbeatPolicy | None,
) -> tuple[Micros, Micros]:
    """The blind windows (of every service) that overlap [since, until), as start and end
    µs arrays; they may overlap one another. Open gaps end at `now`."""
    now_us = to_micros(now)
    parts: list[tuple[Micros, Micros]] = []
    if heartbeat is not None:
        first, last = _spans_around(session, HeartbeatSpan.source != SELF_SOURCE, since, until)
        longer_than = int(heartbeat.interval.total_seconds() * 1_000_000)
        parts.append(heartbeat_gaps(first, last, longer_than_us=longer_than, now_us=now_us))
    first, last = _spans_around(session, HeartbeatSpan.source == SELF_SOURCE, since, until)
    own_gap = int(SELF_GAP.total_seconds() * 1_000_000)
    parts.append(heartbeat_gaps(first, last, longer_than_us=own_gap, now_us=now_us))
    rows = session.execute(
        select(BlindWindow.start_at, BlindWindow.end_at)
        .where(BlindWindow.start_at < until)
        .where(BlindWindow.end_at > since)
    ).all()
    parts.append(
        (
            np.array([to_micros(start) for start, _ in rows], dtype=np.int64),
            np.array([to_micros(end) for _, end in rows], dtype=np.int64),
        )
    )
    return (
        np.concatenate([starts for starts, _ in parts]).astype(np.int64),
        np.concatenate([ends for _, ends in parts]).astype(np.int64),
    )


def _spans_around(
    session: Session, chosen: ColumnElement[bool], since: datetime, until: datetime
) -> tuple[Micros, Micros]:
    """The spans that overlap [since, until], and the last one before and the first one after:
    a gap that reaches into the range begins and ends at them."""
    columns = select(HeartbeatSpan.first_at, HeartbeatSpan.last_at).where(chosen)
    inside = columns.where(HeartbeatSpan.last_at >= since).where(HeartbeatSpan.first_at <= until)
    before = (
        columns.where(HeartbeatSpan.last_at < since).order_by(HeartbeatSpan.last_at.desc()).limit(1)
    )
    after = columns.where(HeartbeatSpan.first_at > until).order_by(HeartbeatSpan.first_at).limit(1)
    rows = [row for query in (before, inside, after) for row in session.execute(query)]
    return (
        np.array([to_micros(first) for first, _ in rows], dtype=np.int64),
        np.array([to_micros(last) for _, last in rows], dtype=np.int64),
    )


def blind_windows(
    session: Session,
    *,
    heartbeat: HeartbeatPolicy | None,
    periods: Sequence[Period],
    now: datetime,
) -> Windows:
    """The blind windows of n services (one period each), grouped by the service's index:
    every service's are the same, clipped to its period by `measure`."""
    n = len(periods)
    if n == 0:
        return Windows.empty()
    starts, ends = load_blind_time(
        session,
        since=min(period.start for period in periods),
        until=max(period.end for period in periods),
        now=now,
        heartbeat=heartbeat,
    )
    keep = ends > starts
    starts, ends = starts[keep], ends[keep]
    group = np.repeat(np.arange(n, dtype=np.int64), len(starts))
    return Windows(group, np.tile(starts, n), np.tile(ends, n))
