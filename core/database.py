"""Database engine, session factory, shared column types and outage detection."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Table,
    create_engine,
    event,
    exc,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

__all__ = [
    "dialect_insert",
    "insert_many",
    "writing_session",
    "Base",
    "DatabaseUnavailable",
    "BigId",
    "JsonLabels",
    "UTCDateTime",
    "create_database_engine",
    "error_summary",
    "is_unavailable_error",
    "normalise_database_url",
    "redacted_url",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every table; one metadata for Alembic."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Labels, annotations and other documents: JSONB on PostgreSQL, JSON text on SQLite.
JsonLabels = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class DatabaseUnavailable(Exception):
    """The database cannot be reached or is locked: the caller should retry later."""


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out; naive UTC on SQLite, timestamptz on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware UTC datetime is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def normalise_database_url(url: str) -> URL:
    """Pick slakeeper's driver for plain `sqlite://` and `postgresql://` URLs."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend in {"postgresql", "postgres"} and parsed.drivername in {"postgresql", "postgres"}:
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "postgres":
        return parsed.set(drivername="postgresql+" + parsed.get_driver_name())
    if backend not in {"sqlite", "postgresql"}:
        raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")
    return parsed


def redacted_url(url: str | URL) -> str:
    """The URL with its password hidden, fit for logs."""
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.render_as_string(hide_password=True)


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def create_database_engine(url: str, *, pool_size: int = 5) -> Engine:
    """An engine for `url`: SQLite in WAL mode with immediate write locks, or PostgreSQL."""
    parsed = normalise_database_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            parsed,
            connect_args={"check_same_thread": False, "timeout": 5.0},
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_timeout=5.0,
        # No JIT: PostgreSQL compiles any query its planner costs high, and on a year of
        # alerts the month's windows (report, scrape) spent 3.3 of 5.2 s compiling.
        connect_args={
            "connect_timeout": 5,
            "application_name": "slakeeper",
            "options": "-c jit=off",
        },
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so that BEGIN is ours to issue.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed alert survives a power cut, not only a process crash.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the write lock up front, so they queue on busy_timeout
        # instead of failing when a read lock cannot be upgraded.
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def dialect_insert(session: Session, table: Any) -> Any:
    """An INSERT for `table` in the session's dialect, so that ON CONFLICT is available."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_many(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    skip_conflicts_on: Sequence[str] = (),
    return_ids: bool = False,
) -> list[int]:
    """Insert `rows` (dictionaries with the same keys) in one statement; their new ids, in
    the order of `rows`, if `return_ids`.

    On PostgreSQL the rows travel as one JSON parameter expanded by `jsonb_populate_recordset`:
    a multi-row VALUES of thousands of rows costs more to build and parse than to insert.
    Ids come from the table's sequence in the order rows are inserted, so sorted they are the
    ids of `rows` in order (on SQLite, see below). `skip_conflicts_on`: keep the existing row
    where it conflicts on these columns (then no ids are returned).
    """
    if not rows:
        return []
    assert not (return_ids and skip_conflicts_on), "a skipped row has no id to return"
    if session.get_bind().dialect.name != "postgresql":
        statement = sqlite.insert(table)
        if skip_conflicts_on:
            statement = statement.on_conflict_do_nothing(index_elements=list(skip_conflicts_on))
        if not return_ids:
            session.execute(statement, list(rows))
            return []
        # SQLite cannot order RETURNING for many rows (SQLAlchemy would insert them one by
        # one). This transaction is the only writer and a new rowid is the largest plus one,
        # so the rows just inserted are the last ids, in order.
        session.execute(statement, list(rows))
        newest = select(table.c.id).order_by(table.c.id.desc()).limit(len(rows))
        return sorted(session.scalars(newest))
    quote = session.get_bind().dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name in rows[0])
    name = quote(table.name)
    conflicts = (
        f" ON CONFLICT ({', '.join(quote(c) for c in skip_conflicts_on)}) DO NOTHING"
        if skip_conflicts_on
        else ""
    )
    sql = (
        f"INSERT INTO {name} ({columns}) SELECT {columns}"
        f" FROM jsonb_populate_recordset(NULL::{name}, CAST(:rows AS jsonb))"
        f" WITH ORDINALITY AS r ORDER BY r.ordinality{conflicts}"
        + (" RETURNING id" if return_ids else "")
    )
    result = session.connection().execute(text(sql), {"rows": orjson.dumps(list(rows)).decode()})
    if not return_ids:
        return []
    ids = sorted(row_id for (row_id,) in result)
    if len(ids) != len(rows):
        raise RuntimeError(f"inserted {len(ids)} rows into {table.name}, not {len(rows)}")
    return ids


@contextmanager
def writing_session(engine: Engine) -> Iterator[Session]:
    """One write transaction (committed on success); on SQLite it takes the lock up front."""
    with (
        engine.connect().execution_options(sqlite_immediate=True) as connection,
        Session(bind=connection, expire_on_commit=False) as session,
        session.begin(),
    ):
        yield session


def error_summary(error: BaseException) -> str:
    """The driver's own first line of a database error, without SQL or parameters."""
    message = str(getattr(error, "orig", None) or error).strip()
    return message.splitlines()[0] if message else type(error).__name__


def is_unavailable_error(error: BaseException) -> bool:
    """True for errors that mean 'cannot reach or lock the database', not 'bad data'."""
    if isinstance(error, exc.TimeoutError | exc.InterfaceError):
        return True
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, exc.OperationalError)
