"""How big each table is: rows and bytes on disk, read from the database's own catalogues.

- PostgreSQL: rows are `pg_class.reltuples`, the planner's estimate as of the last VACUUM
  or ANALYZE (counted exactly for a table never analysed, or when asked); bytes are
  `pg_total_relation_size` (heap, TOAST and indexes), of which `pg_indexes_size` is indexes.
- SQLite: rows are counted exactly; bytes come from the `dbstat` virtual table (each table's
  pages and its indexes') when the SQLite build has it; otherwise only the file's size is
  known (page_count × page_size) and per table it is None.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

__all__ = ["DatabaseSize", "TableSize", "database_size"]


@dataclass(frozen=True, slots=True)
class TableSize:
    """One table: its rows, and its bytes with the share its indexes take (None: unknown)."""

    table: str
    rows: int
    total_bytes: int | None
    index_bytes: int | None


@dataclass(frozen=True, slots=True)
class DatabaseSize:
    """Every table, largest first; whether the rows are exact, and the whole database's bytes."""

    dialect: str
    tables: list[TableSize]
    rows_exact: bool
    per_table_bytes: bool
    total_bytes: int


def database_size(engine: Engine, *, exact_rows: bool = False) -> DatabaseSize:
    """The size of every table of `engine`'s database (`exact_rows`: count on PostgreSQL too)."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            return _postgresql(connection, exact_rows=exact_rows)
        return _sqlite(connection)


def _largest_first(tables: list[TableSize]) -> list[TableSize]:
    return sorted(tables, key=lambda t: (-(t.total_bytes or 0), -t.rows, t.table))


def _count(connection: Connection, table: str) -> int:
    quoted = connection.dialect.identifier_preparer.quote(table)
    return int(connection.execute(text(f"SELECT count(*) FROM {quoted}")).scalar_one())


def _postgresql(connection: Connection, *, exact_rows: bool) -> DatabaseSize:
    query = text(
        "SELECT c.relname, c.reltuples, pg_total_relation_size(c.oid), pg_indexes_size(c.oid) "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema()"
    )
    tables = []
    for name, estimate, total, indexes in connection.execute(query):
        # -1: never vacuumed nor analysed, so the planner has no estimate yet.
        rows = _count(connection, name) if exact_rows or estimate < 0 else int(estimate)
        tables.append(TableSize(name, rows, int(total), int(indexes)))
    whole = connection.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    return DatabaseSize("postgresql", _largest_first(tables), exact_rows, True, int(whole))


def _sqlite(connection: Connection) -> DatabaseSize:
    names = connection.execute(
        text("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    ).scalars()
    rows = {name: _count(connection, name) for name in names}
    pages = connection.execute(text("PRAGMA page_count")).scalar_one()
    page_size = connection.execute(text("PRAGMA page_size")).scalar_one()
    try:
        query = text("SELECT name, sum(pgsize) FROM dbstat GROUP BY name")
        btrees = {str(name): int(size) for name, size in connection.execute(query)}
    except OperationalError:  # built without SQLITE_ENABLE_DBSTAT_VTAB
        tables = [TableSize(name, count, None, None) for name, count in rows.items()]
        return DatabaseSize("sqlite", _largest_first(tables), True, False, pages * page_size)
    query = text("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'")
    owners = {str(index): str(table) for index, table in connection.execute(query)}
    index_bytes = dict.fromkeys(rows, 0)
    for index, table in owners.items():
        if table in index_bytes:
            index_bytes[table] += int(btrees.get(index, 0))
    tables = [
        TableSize(name, count, int(btrees.get(name, 0)) + index_bytes[name], index_bytes[name])
        for name, count in rows.items()
    ]
    return DatabaseSize("sqlite", _largest_first(tables), True, True, pages * page_size)
