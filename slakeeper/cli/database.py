"""`slakeeper db upgrade`: the database's schema."""

from __future__ import annotations

import argparse

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from core.database import create_database_engine, redacted_url
from slakeeper import migrate
from slakeeper.cli.options import DATABASE_URL, Commands
from slakeeper.cli.preflight import CommandError, settings_from

__all__ = ["add_parsers", "db_upgrade"]


def add_parsers(commands: Commands) -> None:
    """The `db` verb and its `upgrade`."""
    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser(
        "upgrade", help="migrate the schema to this release", parents=[DATABASE_URL]
    )
    upgrade.set_defaults(handler=db_upgrade)


def db_upgrade(args: argparse.Namespace) -> None:
    """Migrate the configured database to this release's schema."""
    settings = settings_from(args, ("database_url",))
    engine = create_database_engine(settings.database_url)
    try:
        migrate.upgrade(engine)
        print(f"{redacted_url(make_url(settings.database_url))} is at {migrate.head_revision()}")
    except SQLAlchemyError as error:
        raise CommandError(
            f"migration failed: {str(getattr(error, 'orig', error)).strip()}"
        ) from None
    finally:
        engine.dispose()
