"""The bulk loader: the generated year into a migrated database, not through HTTP.

PostgreSQL takes it by `COPY … FROM STDIN` (psycopg 3's `cursor.copy`), SQLite by
`executemany` in large transactions. Either way the secondary indexes (and PostgreSQL's
unique constraints) are dropped for the load and built again afterwards, as one does for a
bulk load: building an index over sorted data once is far cheaper than ten million random
insertions into it. Then the planner's statistics are gathered.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import psycopg
from psycopg import sql

from benchmarks.yearly.dataset import (
    ALERT_COLUMNS,
    EVENT_COLUMNS,
    INCIDENT_COLUMNS,
    TIME_COLUMNS,
    Chunk,
    Sizes,
    chunks,
)

__all__ = ["TABLES", "load_postgresql", "load_sqlite"]

TABLES: dict[str, tuple[str, ...]] = {
    "incidents": INCIDENT_COLUMNS,
    "incident_events": EVENT_COLUMNS,
    "alerts": ALERT_COLUMNS,
}
Row = tuple[object, ...]


def stamp_formatter(suffix: str) -> Callable[[int], str]:
    """Seconds since the epoch as 'YYYY-MM-DD HH:MM:SS' + `suffix`, a day's date cached."""
    days: dict[int, str] = {}

    def stamp(seconds: int) -> str:
        day, rest = divmod(seconds, 86_400)
        date = days.get(day)
        if date is None:
            date = days[day] = datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y-%m-%d")
        hours, rest = divmod(rest, 3_600)
        return f"{date} {hours:02d}:{rest // 60:02d}:{rest % 60:02d}{suffix}"

    return stamp


def _converter(table: str, stamp: Callable[[int], str]) -> Callable[[Row], list[object]]:
    """Turn a generated row's times into the database's text form."""
    columns = TABLES[table]
    positions = [columns.index(name) for name in TIME_COLUMNS[table]]

    def convert(row: Row) -> list[object]:
        values = list(row)
        for position in positions:
            value = values[position]
            if value is not None:
                values[position] = stamp(value)  # type: ignore[arg-type]
        return values

    return convert


def _progress(label: str, started: float, done: int, total: int) -> None:
    elapsed = time.monotonic() - started
    print(f"  {label}: {done:,}/{total:,} alerts, {elapsed:.0f} s", flush=True)


# The durable counters ingestion would have kept for the year (the scrape exports them): incidents
# opened and SLA breaches per service and priority, labels as `core.counters.counter_key` writes.
COUNTERS_SQL = """
INSERT INTO event_counters (name, labels, shard, value)
SELECT 'slakeeper_incidents_opened_total',
       '{"priority":"' || priority || '","service":"' || service || '"}', 0, count(*)
FROM incidents GROUP BY service, priority
UNION ALL
SELECT 'slakeeper_sla_breaches_total',
       '{"kind":"response","priority":"' || priority || '","service":"' || service || '"}', 0,
       count(*)
FROM incidents WHERE response_breached GROUP BY service, priority
UNION ALL
SELECT 'slakeeper_sla_breaches_total',
       '{"kind":"resolution","priority":"' || priority || '","service":"' || service || '"}', 0,
       count(*)
FROM incidents WHERE resolution_breached GROUP BY service, priority
"""


def _rows_of(chunk: Chunk, table: str) -> list[Row]:
    return {"incidents": chunk.incidents, "incident_events": chunk.events}.get(table, chunk.alerts)


# PostgreSQL --------------------------------------------------------------------------------

_PG_DROPPABLE = """
SELECT c.relname, i.relname, pg_get_indexdef(i.oid), con.conname,
       pg_get_constraintdef(con.oid)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class c ON c.oid = x.indrelid
LEFT JOIN pg_constraint con ON con.conindid = i.oid AND con.conrelid = c.oid
WHERE c.relname = ANY(%s) AND NOT x.indisprimary
"""


def _pg_drop_indexes(connection: psycopg.Connection[tuple[object, ...]]) -> list[sql.Composed]:
    """Drop the secondary indexes and unique constraints; the statements that rebuild them."""
    rebuild: list[sql.Composed] = []
    rows = connection.execute(_PG_DROPPABLE, (list(TABLES),)).fetchall()
    for row in rows:
        table, index, indexdef = str(row[0]), str(row[1]), str(row[2])
        constraint, constraintdef = row[3], str(row[4])
        if constraint is not None:
            connection.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                    sql.Identifier(table), sql.Identifier(str(constraint))
                )
            )
            rebuild.append(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                    sql.Identifier(table), sql.Identifier(str(constraint)), sql.SQL(constraintdef)
                )
            )
        else:
            connection.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(index)))
            rebuild.append(sql.Composed([sql.SQL(indexdef)]))
    return rebuild


def load_postgresql(url: str, sizes: Sizes) -> None:
    """COPY the year into the migrated database at `url`, then index and analyse it."""
    stamp = stamp_formatter("+00")
    converters = {table: _converter(table, stamp) for table in TABLES}
    started, loaded = time.monotonic(), 0
    with psycopg.connect(url, autocommit=True) as connection:
        # Foreign keys are checked by triggers, which a replica role skips: the rows are ours.
        connection.execute("SET session_replication_role = replica")
        connection.execute("SET maintenance_work_mem = '512MB'")
        rebuild = _pg_drop_indexes(connection)
        for chunk in chunks(sizes):
            with connection.transaction(), connection.cursor() as cursor:
                for table, columns in TABLES.items():
                    target = sql.SQL("COPY {} ({}) FROM STDIN").format(
                        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
                    )
                    with cursor.copy(target) as copy:
                        for row in _rows_of(chunk, table):
                            copy.write_row(converters[table](row))
            loaded += len(chunk.alerts)
            if loaded // 500_000 != (loaded - len(chunk.alerts)) // 500_000:
                _progress("postgresql", started, loaded, sizes.alerts)
        print("  postgresql: building indexes", flush=True)
        for statement in rebuild:
            connection.execute(statement)
        for table in TABLES:
            connection.execute(
                sql.SQL("SELECT setval(pg_get_serial_sequence({}, 'id'), max(id)) FROM {}").format(
                    sql.Literal(table), sql.Identifier(table)
                )
            )
        connection.execute(COUNTERS_SQL)
        print("  postgresql: VACUUM ANALYZE", flush=True)
        for table in TABLES:
            connection.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))
    _progress("postgresql loaded", started, loaded, sizes.alerts)


# SQLite ------------------------------------------------------------------------------------


def _sqlite_drop_indexes(connection: sqlite3.Connection) -> list[str]:
    """Drop the secondary indexes (not those of UNIQUE constraints); their CREATE statements."""
    placeholders = ", ".join("?" for _ in TABLES)
    rows = connection.execute(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({placeholders})",
        list(TABLES),
    ).fetchall()
    for name, _ in rows:
        connection.execute(f'DROP INDEX "{name}"')
    return [statement for _, statement in rows]


def _insert(connection: sqlite3.Connection, table: str, rows: Iterable[list[object]]) -> None:
    columns = TABLES[table]
    marks = ", ".join("?" for _ in columns)
    connection.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def load_sqlite(path: str, sizes: Sizes) -> None:
    """Insert the year into the migrated SQLite file at `path`, then index and analyse it."""
    stamp = stamp_formatter(".000000")
    converters = {table: _converter(table, stamp) for table in TABLES}
    started, loaded = time.monotonic(), 0
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        # Durability is not wanted while loading: a failed load is started again.
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-1000000",
                       "temp_store=MEMORY", "foreign_keys=OFF"):  # fmt: skip
            connection.execute(f"PRAGMA {pragma}")
        rebuild = _sqlite_drop_indexes(connection)
        for chunk in chunks(sizes):
            connection.execute("BEGIN")
            for table in TABLES:
                _insert(connection, table, map(converters[table], _rows_of(chunk, table)))
            connection.execute("COMMIT")
            loaded += len(chunk.alerts)
            if loaded // 500_000 != (loaded - len(chunk.alerts)) // 500_000:
                _progress("sqlite", started, loaded, sizes.alerts)
        print("  sqlite: building indexes", flush=True)
        for statement in rebuild:
            connection.execute(statement)
        connection.execute(COUNTERS_SQL)
        connection.execute("ANALYZE")
        connection.execute("PRAGMA journal_mode=WAL")
    finally:
        connection.close()
    _progress("sqlite loaded", started, loaded, sizes.alerts)
