"""Shared test plumbing: fixtures' payloads, real databases, and the CI rule.

With `CI=true`, a test that needs a missing PostgreSQL, Prometheus or Alertmanager fails
instead of skipping: a green run that skipped the real parts proves nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import pytest

import access.models  # noqa: F401 - registers the tables
import availability.models  # noqa: F401
import collector.models  # noqa: F401
import core.counters  # noqa: F401
import housekeeping.models  # noqa: F401 - the indexes of its deletes
import incident.models  # noqa: F401
import ledger.models  # noqa: F401
import oncall.models  # noqa: F401
from core.database import Base

FIXTURES = Path(__file__).parent / "fixtures"
IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_ADMIN_URL = os.environ.get(
    "SLAKEEPER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def missing(reason: str) -> NoReturn:
    """Skip for want of a real part; in CI, fail."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: required)", pytrace=False)
    pytest.skip(reason)


def fixture_text(relative: str) -> str:
    return (FIXTURES / relative).read_text()


def fixture_json(relative: str) -> Any:
    return json.loads(fixture_text(relative))


@contextmanager
def fresh_postgres_database(prefix: str = "slakeeper_test") -> Iterator[str]:
    """Create a migrated PostgreSQL database of its own, and drop it afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    from core.database import create_database_engine
    from slakeeper import migrate

    admin = make_url(POSTGRES_ADMIN_URL)
    conninfo = (
        f"host={admin.host or '127.0.0.1'} port={admin.port or 5432} "
        f"user={admin.username or 'postgres'} dbname={admin.database or 'postgres'}"
    )
    try:
        connection = psycopg.connect(conninfo, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        missing(f"PostgreSQL unavailable at {POSTGRES_ADMIN_URL}: {error}")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    connection.execute(f'CREATE DATABASE "{name}"')
    url = admin.set(database=name).render_as_string(hide_password=False)
    try:
        engine = create_database_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        yield url
    finally:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database shared by this session's integration tests."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies."""
    from sqlalchemy import inspect

    from core.database import create_database_engine
    from slakeeper import migrate

    path = tmp_path_factory.mktemp("template") / "slakeeper.db"
    engine = create_database_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    migrated = set(inspect(engine).get_table_names()) - {"alembic_version"}
    engine.dispose()
    # A table the tests do not know would keep one PostgreSQL test's rows for the next.
    assert migrated <= set(TABLES), f"import the models of {sorted(migrated - set(TABLES))}"
    return path


# Every table the models declare: a new one is emptied between tests without a mention here.
TABLES = tuple(table.name for table in Base.metadata.sorted_tables)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database: a SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "slakeeper.db"
        shutil.copy(template, target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("postgres_url")
    from sqlalchemy import text

    from core.database import create_database_engine

    engine = create_database_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY"))
    engine.dispose()
    return url


@pytest.fixture
def free_port() -> Callable[[], int]:
    """A function returning a port nobody listens on (loopback)."""
    import socket

    def pick() -> int:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
            return port

    return pick
