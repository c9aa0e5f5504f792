"""`slakeeper serve` (the HTTP service) and `slakeeper scheduler` (only the scheduled jobs)."""

from __future__ import annotations

import argparse
import logging
import queue
import signal
from contextlib import suppress

from core.database import redacted_url
from rules.loader import RuleFileError
from slakeeper.cli.options import LOG_LEVEL, RULES, SERVER_DATABASE_URL, Commands
from slakeeper.cli.preflight import (
    check_rules,
    export_settings,
    prepare_database,
    settings_from,
)
from slakeeper.settings import Settings, is_loopback

__all__ = ["add_parsers", "scheduler", "serve"]

log = logging.getLogger("slakeeper")

SERVE_SETTINGS = (
    "host",
    "port",
    "workers",
    "database_url",
    "rules",
    "log_level",
    "access_log",
    "scheduler",
    "insecure",
)


def add_parsers(commands: Commands) -> None:
    """The `serve` and `scheduler` verbs."""
    serve_ = commands.add_parser(
        "serve",
        help="run the HTTP service",
        parents=[_listen_options(), SERVER_DATABASE_URL, RULES, LOG_LEVEL],
    )
    serve_.add_argument("--access-log", action="store_true", default=None, help="log every request")
    serve_.add_argument(
        "--insecure",
        action="store_true",
        default=None,
        help="let requests without credentials in off loopback too (as the local admin)",
    )
    serve_.add_argument(
        "--no-scheduler",
        dest="scheduler",
        action="store_false",
        default=None,
        help="do not run the scheduled jobs here (run `slakeeper scheduler` instead)",
    )
    serve_.set_defaults(handler=serve)
    scheduler_ = commands.add_parser(
        "scheduler",
        help="run only the scheduled jobs: escalation, breaches, notifications",
        parents=[SERVER_DATABASE_URL, RULES, LOG_LEVEL],
    )
    scheduler_.set_defaults(handler=scheduler)


def _listen_options() -> argparse.ArgumentParser:
    listen = argparse.ArgumentParser(add_help=False)
    listen.add_argument("--host", help="address to bind (default 127.0.0.1)")
    listen.add_argument("--port", type=int, help="port to bind (default 8080)")
    listen.add_argument("--workers", type=int, help="worker processes (default 1)")
    return listen


def serve(args: argparse.Namespace) -> None:
    """Check the settings, prepare the database, then run uvicorn."""
    settings = settings_from(args, SERVE_SETTINGS)
    check_rules(settings)
    prepare_database(settings.database_url)
    _warn_if_no_one_can_sign_in(settings)
    export_settings(settings, SERVE_SETTINGS)
    log.info(
        "serving on %s:%d with %s",
        settings.host,
        settings.port,
        redacted_url(settings.database_url),
    )
    from slakeeper.server import run_server

    run_server(settings)


def _warn_if_no_one_can_sign_in(settings: Settings) -> None:
    """Off loopback every route but the probes needs a credential: say so if none exists."""
    if is_loopback(settings.host) or settings.insecure:
        return
    if settings.api_tokens or settings.ingest_tokens:
        return
    from sqlalchemy import select

    from access.models import Account
    from core.database import create_database_engine

    engine = create_database_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            someone = connection.execute(select(Account.id).limit(1)).first()
    finally:
        engine.dispose()
    if someone is None:
        log.warning(
            "listening on %s, where every request needs a credential, and none exists: "
            "create the first admin with `slakeeper users add NAME --role admin --password`",
            settings.host,
        )


def scheduler(args: argparse.Namespace) -> None:
    """Run the scheduled jobs against the database until SIGTERM or SIGINT; reload the rules
    on SIGHUP."""
    settings = settings_from(args, ("database_url", "rules", "log_level"))
    logging.getLogger().setLevel(settings.log_level.upper())
    check_rules(settings)
    prepare_database(settings.database_url)
    from slakeeper.scheduler import running_jobs

    # SimpleQueue.put may be called from a signal handler; the main thread only waits.
    received: queue.SimpleQueue[int] = queue.SimpleQueue()
    for wanted in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(wanted, lambda signum, _frame: received.put(signum))
    with running_jobs(settings) as rules:
        log.info("running the scheduled jobs on %s", redacted_url(settings.database_url))
        while (signum := received.get()) == signal.SIGHUP:
            # A rejected file is logged and counted by `reload`; the old rules stay.
            with suppress(RuleFileError):
                rules.reload()
        log.info("%s: stopping the scheduled jobs", signal.Signals(signum).name)
