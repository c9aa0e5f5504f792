"""`slakeeper db upgrade` and `db stats`: the database's schema, and how big its tables are."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from core.database import create_database_engine, error_summary, redacted_url
from housekeeping.sizes import DatabaseSize, database_size
from slakeeper import migrate
from slakeeper.cli.options import DATABASE_URL, Commands
from slakeeper.cli.preflight import CommandError, settings_from

__all__ = ["add_parsers", "db_stats", "db_upgrade", "human_bytes", "stats_text"]


def add_parsers(commands: Commands) -> None:
    """The `db` verb and its `upgrade` and `stats`."""
    db = commands.add_parser("db", help="database schema and size")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser(
        "upgrade", help="migrate the schema to this release", parents=[DATABASE_URL]
    )
    upgrade.set_defaults(handler=db_upgrade)
    stats = db_commands.add_parser(
        "stats", help="rows and size on disk of every table, largest first", parents=[DATABASE_URL]
    )
    stats.add_argument("--format", choices=("text", "json"), default="text")
    stats.set_defaults(handler=db_stats)


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


def db_stats(args: argparse.Namespace) -> None:
    """Print every table's rows and bytes on disk, largest first."""
    settings = settings_from(args, ("database_url",))
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        raise CommandError(f"no SQLite database at {url.database}")
    engine = create_database_engine(settings.database_url)
    try:
        size = database_size(engine)
    except SQLAlchemyError as error:
        raise CommandError(f"cannot read the database: {error_summary(error)}") from None
    finally:
        engine.dispose()
    if args.format == "json":
        print(json.dumps({**asdict(size), "rows_note": _rows_note(size)}, indent=2))
    else:
        print(stats_text(size))


def _rows_note(size: DatabaseSize) -> str:
    if size.rows_exact:
        return "rows counted exactly"
    return "rows estimated by PostgreSQL (pg_class.reltuples, as of the last VACUUM or ANALYZE)"


def human_bytes(count: int | None) -> str:
    """1536 → '1.5 KiB'; None → '?'."""
    if count is None:
        return "?"
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def stats_text(size: DatabaseSize) -> str:
    """The table `db stats` prints."""
    width = max([len("table"), *(len(t.table) for t in size.tables)])
    lines = [f"{'table':<{width}}  {'rows':>12}  {'size':>10}  {'indexes':>10}  share"]
    for table in size.tables:
        share = (
            f"{100 * table.index_bytes / table.total_bytes:4.0f} %"
            if table.total_bytes and table.index_bytes is not None
            else "   -"
        )
        lines.append(
            f"{table.table:<{width}}  {table.rows:>12,}  {human_bytes(table.total_bytes):>10}  "
            f"{human_bytes(table.index_bytes):>10}  {share}"
        )
    lines.append(f"{'database':<{width}}  {'':>12}  {human_bytes(size.total_bytes):>10}")
    lines.append(f"{size.dialect}: {_rows_note(size)}")
    if not size.per_table_bytes:
        lines.append(
            "size per table unavailable: this SQLite has no dbstat table "
            "(the database's size is page_count × page_size)"
        )
    return "\n".join(lines)
