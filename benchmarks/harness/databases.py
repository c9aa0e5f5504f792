"""Fresh databases for a benchmark: a SQLite file, or a PostgreSQL database dropped after."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from benchmarks.harness import BenchmarkError

__all__ = [
    "LOOPBACK_NAMES",
    "empty_database",
    "empty_postgresql_database",
    "migrate",
    "postgresql_database",
    "sqlite_database",
]


LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


@contextlib.contextmanager
def sqlite_database(workdir: Path) -> Iterator[str]:
    """A fresh SQLite file URL; serve creates and migrates it."""
    directory = Path(tempfile.mkdtemp(prefix="sqlite-", dir=workdir))
    try:
        yield f"sqlite:///{directory / 'slakeeper-bench.db'}"
    finally:
        shutil.rmtree(directory)


def _with_database(url: str, name: str) -> str:
    """`url` pointing at database `name` instead."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _admin_execute(admin_url: str, statement: sql.Composed) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE need that)."""
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
            admin.execute(statement)
    except psycopg.Error as error:
        raise BenchmarkError(f"PostgreSQL at {admin_url}: {error}".strip()) from error


def migrate(slakeeper: Path, url: str) -> None:
    """`slakeeper db upgrade` on `url`."""
    command = [str(slakeeper), "db", "upgrade", "--database-url", url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise BenchmarkError(f"slakeeper db upgrade failed:\n{done.stderr.strip()}")


@contextlib.contextmanager
def empty_postgresql_database(admin_url: str, prefix: str = "slakeeper_bench") -> Iterator[str]:
    """A fresh PostgreSQL database without any schema, dropped afterwards."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    _admin_execute(admin_url, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _with_database(admin_url, name)
    finally:
        _admin_execute(
            admin_url,
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)),
        )


@contextlib.contextmanager
def postgresql_database(admin_url: str, slakeeper: Path) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database, dropped afterwards."""
    with empty_postgresql_database(admin_url) as url:
        migrate(slakeeper, url)
        yield url


@contextlib.contextmanager
def empty_database(kind: str, admin_url: str, prefix: str) -> Iterator[str]:
    """A fresh database without any schema: a SQLite file (`kind` "sqlite") or a PostgreSQL
    database created through `admin_url`; gone afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            yield f"sqlite:///{directory}/bench.db"
        return
    with empty_postgresql_database(admin_url, prefix) as url:
        yield url
