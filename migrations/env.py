"""Alembic environment: runs on the connection slakeeper hands it, or on a URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import access.models  # noqa: F401
import availability.models  # noqa: F401
import collector.models  # noqa: F401 - registers the tables on the metadata
import core.counters  # noqa: F401
import housekeeping.models  # noqa: F401 - the indexes of its deletes
import incident.models  # noqa: F401
import ledger.models  # noqa: F401
import oncall.models  # noqa: F401
from core.database import Base, create_database_engine


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_database_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as connection:
        _run(connection)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("slakeeper migrations run online only: use `slakeeper db upgrade`")
run_migrations_online()
