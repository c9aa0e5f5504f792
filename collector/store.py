"""SQL for alert instances and deliveries: bulk upserts and filtered, paginated reads."""

from __future__ import annotations

import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Table,
    Text,
    and_,
    case,
    cast,
    column,
    func,
    or_,
    select,
)
from sqlalchemy import bindparam as param
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from collector.alerts import AlertInstanceUpdate, AlertStatus, Delivery
from collector.models import AlertInstance, DeliveryRecord
from core.database import insert_many
from rules.matchers import Matcher, MatchOp

__all__ = [
    "AlertQuery",
    "StoredAlert",
    "record_deliveries",
    "firing_starts",
    "label_condition",
    "upsert_alert_instances",
]

_table = typing.cast(Table, AlertInstance.__table__)
_deliveries = typing.cast(Table, DeliveryRecord.__table__)
_UPSERT_COLUMNS = (
    "fingerprint",
    "starts_at",
    "status",
    "ends_at",
    "labels",
    "annotations",
    "generator_url",
    "source",
    "receive_count",
    "first_received_at",
    "last_received_at",
    "service",
    "level",
    "priority",
    "category",
    "impact",
    "group_key",
    "resolved_received_at",
    "origin_url",
    "origin_receiver",
)


def firing_starts(session: Session, fingerprints: Iterable[str]) -> dict[str, datetime]:
    """The start of the instance firing now for each of `fingerprints` that has one."""
    wanted = sorted(set(fingerprints))
    if not wanted:
        return {}
    query = (
        select(AlertInstance.fingerprint, func.max(AlertInstance.starts_at))
        .where(AlertInstance.fingerprint.in_(wanted))
        .where(AlertInstance.status == AlertStatus.FIRING.value)
        .group_by(AlertInstance.fingerprint)
    )
    return dict(session.execute(query).all())


@dataclass(frozen=True, slots=True)
class StoredAlert:
    """An instance as the upsert left it; `newly_resolved` if this transaction resolved it."""

    id: int
    fingerprint: str
    starts_at: datetime
    status: AlertStatus
    incident_id: int | None
    service: str | None
    level: str | None
    priority: str | None
    category: str | None
    impact: str | None
    group_key: str | None
    newly_resolved: bool


_RETURNED = (
    _table.c.id,
    _table.c.fingerprint,
    _table.c.starts_at,
    _table.c.status,
    _table.c.incident_id,
    _table.c.service,
    _table.c.level,
    _table.c.priority,
    _table.c.category,
    _table.c.impact,
    _table.c.group_key,
    _table.c.resolved_received_at,
)


def upsert_alert_instances(
    session: Session, updates: Sequence[AlertInstanceUpdate], *, now: datetime
) -> list[StoredAlert]:
    """Insert new instances and fold updates into existing ones, in one statement.

    `updates` must hold one entry per key, sorted by key, so that concurrent writers lock
    rows in the same order. `now` stamps the resolutions this transaction stores. Returns,
    as stored, the instances that fire with no incident yet and those this transaction
    resolved: the only ones that can change an incident.
    """
    if not updates:
        return []
    rows = [_row(update, now) for update in updates]
    if session.get_bind().dialect.name == "postgresql":
        result = _upsert_postgresql(session, rows, now)
    else:
        result = _upsert_sqlite(session, rows)
    firing, resolved = AlertStatus.FIRING.value, AlertStatus.RESOLVED.value
    # Positional, and only the rows that may change an incident: a batch of repeats builds
    # nothing here. (id, fingerprint, starts_at, status, incident_id, ..., resolved_received_at)
    return [
        StoredAlert(
            id=row[0],
            fingerprint=row[1],
            starts_at=row[2],
            status=AlertStatus(row[3]),
            incident_id=row[4],
            service=row[5],
            level=row[6],
            priority=row[7],
            category=row[8],
            impact=row[9],
            group_key=row[10],
            newly_resolved=row[3] == resolved and row[11] == now,
        )
        for row in result
        if (row[3] == firing and row[4] is None) or (row[3] == resolved and row[11] == now)
    ]


def _merge_into_existing(excluded: Any) -> dict[str, ColumnElement[Any]]:
    """The update rules of `AlertInstanceUpdate.absorb`, with the stored row first."""
    resolved = _table.c.status == AlertStatus.RESOLVED.value
    return {
        "status": case((resolved, _table.c.status), else_=excluded.status),
        "ends_at": case((resolved, _table.c.ends_at), else_=excluded.ends_at),
        "receive_count": _table.c.receive_count + excluded.receive_count,
        "first_received_at": case(
            (excluded.first_received_at < _table.c.first_received_at, excluded.first_received_at),
            else_=_table.c.first_received_at,
        ),
        "last_received_at": case(
            (excluded.last_received_at > _table.c.last_received_at, excluded.last_received_at),
            else_=_table.c.last_received_at,
        ),
        "resolved_received_at": case(
            (resolved, _table.c.resolved_received_at), else_=excluded.resolved_received_at
        ),
        # The first webhook's origin stays; an instance stored before origins were kept
        # takes the next one's.
        "origin_url": func.coalesce(_table.c.origin_url, excluded.origin_url),
        "origin_receiver": func.coalesce(_table.c.origin_receiver, excluded.origin_receiver),
    }


def _row(update: AlertInstanceUpdate, now: datetime) -> dict[str, Any]:
    return {
        "fingerprint": update.fingerprint,
        "starts_at": update.starts_at,
        "status": update.status.value,
        "ends_at": update.ends_at,
        "labels": update.labels,
        "annotations": update.annotations,
        "generator_url": update.generator_url,
        "source": update.source.value,
        "receive_count": update.receive_count,
        "first_received_at": update.first_received_at,
        "last_received_at": update.last_received_at,
        "service": update.service,
        "level": update.level,
        "priority": update.priority,
        "category": update.category,
        "impact": update.impact,
        "group_key": update.group_key,
        "resolved_received_at": now if update.status is AlertStatus.RESOLVED else None,
        "origin_url": update.origin_url,
        "origin_receiver": update.origin_receiver,
    }


def _sqlite_upsert_statement() -> Any:
    statement = sqlite.insert(_table)
    return statement.on_conflict_do_update(
        index_elements=["fingerprint", "starts_at"],
        set_=_merge_into_existing(statement.excluded),
    ).returning(*_RETURNED)


_SQLITE_UPSERT = _sqlite_upsert_statement()


def _upsert_sqlite(session: Session, rows: list[dict[str, Any]]) -> Sequence[Any]:
    return session.connection().execute(_SQLITE_UPSERT, rows).all()


def _postgresql_upsert_statement() -> Any:
    records = (
        func.jsonb_to_recordset(cast(param("records", type_=Text), JSONB))
        .table_valued(*(column(name, _table.c[name].type) for name in _UPSERT_COLUMNS))
        .render_derived(name="record", with_types=True)
    )
    rows = select(*(records.c[name] for name in _UPSERT_COLUMNS))
    statement = postgresql.insert(_table).from_select(list(_UPSERT_COLUMNS), rows)
    upserted = (
        statement.on_conflict_do_update(
            index_elements=["fingerprint", "starts_at"],
            set_=_merge_into_existing(statement.excluded),
        )
        .returning(*_RETURNED)
        .cte("upserted")
    )
    # Only the rows that can change an incident come back (a batch of repeats returns
    # none): returning every row cost more in Python than the statement took to run.
    stored = upserted.c
    return select(upserted).where(
        or_(
            and_(stored.status == AlertStatus.FIRING.value, stored.incident_id.is_(None)),
            and_(
                stored.status == AlertStatus.RESOLVED.value,
                stored.resolved_received_at == param("now", type_=_table.c.starts_at.type),
            ),
        )
    )


_POSTGRESQL_UPSERT = _postgresql_upsert_statement()


def _upsert_postgresql(
    session: Session, rows: list[dict[str, Any]], now: datetime
) -> Sequence[Any]:
    # The whole batch travels as one JSON document, serialised in C by orjson and expanded by
    # the server: the statement text never changes, so it is planned once, and a batch of any
    # size is one round trip with no per-value work in Python.
    records = orjson.dumps(rows).decode()
    return session.connection().execute(_POSTGRESQL_UPSERT, {"records": records, "now": now}).all()


def record_deliveries(session: Session, deliveries: Sequence[Delivery]) -> None:
    """Keep each push's envelope: receiver, group key, external URL, truncation."""
    rows = [
        {
            "received_at": delivery.received_at,
            "source": delivery.source.value,
            "receiver": delivery.receiver,
            "status": delivery.status,
            "group_key": delivery.group_key,
            "external_url": delivery.external_url,
            "alert_count": (
                delivery.envelope_alert_count
                if delivery.envelope_alert_count is not None
                else len(delivery.alerts)
            ),
            "truncated_alerts": delivery.truncated_alerts,
        }
        for delivery in deliveries
        if delivery.records_envelope
    ]
    # One statement whatever the number of pushes: a row at a time (executemany) was the
    # largest part of a group commit's time in Python (py-spy).
    insert_many(session, _deliveries, rows)


@dataclass(frozen=True, slots=True)
class AlertQuery:
    """Filters of `GET /api/v1/alerts`; `since`/`until` select instances active in between."""

    status: AlertStatus | None = None
    fingerprint: str | None = None
    service: str | None = None
    level: str | None = None
    priority: str | None = None
    impact: str | None = None
    category: str | None = None
    source: str | None = None
    incident_id: int | None = None
    matchers: tuple[Matcher, ...] = field(default_factory=tuple)
    since: datetime | None = None
    until: datetime | None = None
    after_id: int | None = None
    limit: int = 100


def label_condition(matcher: Matcher) -> ColumnElement[bool]:
    """`matcher` (`=` or `!=`) as SQL over the labels; a missing label is the empty string."""
    value = func.coalesce(AlertInstance.labels[matcher.name].as_string(), "")
    if matcher.op is MatchOp.EQUAL:
        return value == matcher.value
    assert matcher.op is MatchOp.NOT_EQUAL, f"{matcher} is evaluated by RE2 in the application"
    return value != matcher.value
