"""The `slakeeper` command: `serve`, `db upgrade`."""

from __future__ import annotations

import argparse
import copy
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from slakeeper import __version__, migrate
from slakeeper.database import (
    create_database_engine,
    error_summary,
    normalise_database_url,
    redacted_url,
)
from slakeeper.settings import Settings, exposure_problem, load_settings

__all__ = ["main"]

log = logging.getLogger("slakeeper")

_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class CommandError(Exception):
    """A command cannot go on; the message says why and what to do."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slakeeper", description="Alert-to-incident-to-SLA pipeline for Prometheus."
    )
    parser.add_argument("--version", action="version", version=f"slakeeper {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default 8080)")
    serve.add_argument("--workers", type=int, help="worker processes (default 1)")
    serve.add_argument("--database-url", help="sqlite:///PATH or postgresql://USER@HOST:PORT/DB")
    serve.add_argument("--rules", type=Path, help="rule file (default: the shipped rules)")
    serve.add_argument("--log-level", help="critical, error, warning, info or debug")
    serve.add_argument("--access-log", action="store_true", default=None, help="log every request")
    serve.add_argument(
        "--insecure",
        action="store_true",
        help="allow binding off loopback without SLAKEEPER_INGEST_TOKENS",
    )

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="migrate the schema to this release")
    upgrade.add_argument("--database-url", help="default: SLAKEEPER_DATABASE_URL")
    return parser


def _settings(args: argparse.Namespace, names: Sequence[str]) -> Settings:
    overrides = {name: getattr(args, name, None) for name in names}
    try:
        return load_settings(**overrides)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
        )
        raise CommandError(f"invalid settings: {problems}") from None


def _export(settings: Settings, names: Sequence[str]) -> None:
    # uvicorn's worker processes build their app from the environment.
    for name in names:
        value = getattr(settings, name)
        if value is not None:
            os.environ[f"SLAKEEPER_{name.upper()}"] = str(value)


def _prepare_database(url: str) -> None:
    parsed = normalise_database_url(url)
    engine = create_database_engine(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            migrate.upgrade(engine)
            return
        current, head = migrate.current_revision(engine), migrate.head_revision()
        if current != head:
            raise CommandError(
                f"database {redacted_url(parsed)} is at schema {current or 'none'}, this release "
                f"needs {head}: run `slakeeper db upgrade` first"
            )
    except SQLAlchemyError as error:
        raise CommandError(
            f"cannot use database {redacted_url(parsed)}: {error_summary(error)}"
        ) from None
    finally:
        engine.dispose()


def serve(args: argparse.Namespace) -> None:
    """Check the settings, prepare the database, then run uvicorn."""
    names = ("host", "port", "workers", "database_url", "rules", "log_level", "access_log")
    settings = _settings(args, names)
    problem = exposure_problem(settings, insecure=args.insecure)
    if problem is not None:
        raise CommandError(problem)
    if settings.rules is not None and not settings.rules.is_file():
        raise CommandError(f"rule file {settings.rules} does not exist")
    _prepare_database(settings.database_url)
    _export(settings, names)
    log.info(
        "serving on %s:%d with %s",
        settings.host,
        settings.port,
        redacted_url(settings.database_url),
    )
    import uvicorn

    uvicorn.run(
        "slakeeper.app:create_app_from_environment",
        factory=True,
        log_config=_log_config(settings.log_level),
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        access_log=settings.access_log,
        log_level=settings.log_level,
        timeout_graceful_shutdown=10,
    )


def _log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging, plus slakeeper's own loggers in every worker process."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["plain"] = {"format": _LOG_FORMAT}
    config["handlers"]["plain"] = {
        "class": "logging.StreamHandler",
        "formatter": "plain",
        "stream": "ext://sys.stderr",
    }
    config["root"] = {"handlers": ["plain"], "level": level.upper()}
    return config


def db_upgrade(args: argparse.Namespace) -> None:
    """Migrate the configured database to this release's schema."""
    settings = _settings(args, ("database_url",))
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `slakeeper` console script."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        if args.command == "serve":
            serve(args)
        elif args.command == "db" and args.db_command == "upgrade":
            db_upgrade(args)
    except CommandError as error:
        print(f"slakeeper: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
