"""The year-sized databases: built once by the bulk loader, kept for `--reuse`, or dropped.

A PostgreSQL database is named for its sizes (`slakeeper_bigdb_<alerts>_<incidents>_<services>`)
and marked as complete by a comment on the database; a SQLite file is named the same way in
`--sqlite-dir` and marked by a file beside it. A load that did not finish leaves no mark, so it
is never reused. Either way the schema is the project's own migrations, applied again on
reuse (a newer migration runs against the big tables, and its time is printed).
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from benchmarks.harness import BenchmarkError
from benchmarks.yearly.dataset import Sizes
from benchmarks.yearly.loading import load_postgresql, load_sqlite

__all__ = ["Built", "year_database"]

_MARK = "slakeeper yearly benchmark, complete, ends at "


@dataclass(frozen=True, slots=True)
class Built:
    """A database holding the year: its URL, when its year ends, how long building took."""

    kind: str
    url: str
    end: int
    load_s: float | None
    migrate_s: float


def _name(sizes: Sizes) -> str:
    return f"slakeeper_bigdb_{sizes.alerts}_{sizes.incidents}_{sizes.services}"


def _pg_mark(admin_url: str, name: str) -> int | None:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        row = admin.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (name,),
        ).fetchone()
    if row is None or not str(row[0] or "").startswith(_MARK):
        return None
    return int(str(row[0]).removeprefix(_MARK))


def _pg_admin(admin_url: str, statement: sql.Composed) -> None:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(statement)


def _migrate(slakeeper: Path, url: str) -> float:
    """`slakeeper db upgrade`, however long a new migration takes on the big tables."""
    started = time.monotonic()
    command = [str(slakeeper), "db", "upgrade", "--database-url", url]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchmarkError(f"slakeeper db upgrade failed:\n{done.stderr.strip()}")
    return time.monotonic() - started


@contextlib.contextmanager
def _postgresql(admin_url: str, slakeeper: Path, sizes: Sizes, reuse: bool) -> Iterator[Built]:
    name = _name(sizes)
    url = urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    end = _pg_mark(admin_url, name) if reuse else None
    load_s = None
    try:
        if end is None:
            _pg_admin(admin_url, drop)
            _pg_admin(admin_url, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            migrate_s = _migrate(slakeeper, url)
            started, end = time.monotonic(), sizes.end
            load_postgresql(url, sizes)
            load_s = time.monotonic() - started
            mark = sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(name), sql.Literal(f"{_MARK}{end}")
            )
            _pg_admin(admin_url, mark)
        else:
            migrate_s = _migrate(slakeeper, url)
        yield Built("postgresql", url, end, load_s, migrate_s)
    finally:
        if not reuse:
            _pg_admin(admin_url, drop)


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", ".complete"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


@contextlib.contextmanager
def _sqlite(directory: Path, slakeeper: Path, sizes: Sizes, reuse: bool) -> Iterator[Built]:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{_name(sizes)}.db"
    mark = path.with_name(path.name + ".complete")
    url = f"sqlite:///{path}"
    load_s = None
    try:
        if reuse and mark.exists():
            end = int(mark.read_text().strip())
            migrate_s = _migrate(slakeeper, url)
        else:
            _remove_sqlite(path)
            migrate_s = _migrate(slakeeper, url)
            started, end = time.monotonic(), sizes.end
            load_sqlite(str(path), sizes)
            load_s = time.monotonic() - started
            mark.write_text(f"{end}\n")
        yield Built("sqlite", url, end, load_s, migrate_s)
    finally:
        if not reuse:
            _remove_sqlite(path)


@contextlib.contextmanager
def year_database(
    kind: str, sizes: Sizes, *, admin_url: str, sqlite_dir: Path, slakeeper: Path, reuse: bool
) -> Iterator[Built]:
    """The year in a database of `kind`: reused when `reuse` and complete, else built; dropped
    afterwards unless `reuse`."""
    if kind == "sqlite":
        with _sqlite(sqlite_dir, slakeeper, sizes, reuse) as built:
            yield built
    else:
        with _postgresql(admin_url, slakeeper, sizes, reuse) as built:
            yield built
