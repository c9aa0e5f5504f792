"""The `slakeeper` command: `serve`, `scheduler`, `db upgrade`, `rules check|test|prometheus`,
`report`, `demo`."""

from __future__ import annotations

import argparse
import logging
import os
import queue
import signal
import sys
import time
from collections.abc import Sequence
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

import orjson
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from core.database import (
    create_database_engine,
    error_summary,
    normalise_database_url,
    redacted_url,
)
from rules.loader import DEFAULT_RULES, RuleFileError, load_rule_file
from rules.prometheus import ServiceObjective, render_prometheus_rules
from rules.testing import run_rule_tests
from slakeeper import __version__, migrate
from slakeeper.settings import DEFAULT_DATABASE_URL, Settings, exposure_problem, load_settings

__all__ = ["main"]

log = logging.getLogger("slakeeper")


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
    serve.add_argument(
        "--no-scheduler",
        dest="scheduler",
        action="store_false",
        default=None,
        help="do not run the scheduled jobs here (run `slakeeper scheduler` instead)",
    )

    scheduler = commands.add_parser(
        "scheduler", help="run only the scheduled jobs: escalation, breaches, notifications"
    )
    scheduler.add_argument(
        "--database-url", help="sqlite:///PATH or postgresql://USER@HOST:PORT/DB"
    )
    scheduler.add_argument("--rules", type=Path, help="rule file (default: the shipped rules)")
    scheduler.add_argument("--log-level", help="critical, error, warning, info or debug")

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="migrate the schema to this release")
    upgrade.add_argument("--database-url", help="default: SLAKEEPER_DATABASE_URL")

    rules = commands.add_parser("rules", help="check, test and use rule files")
    rules_commands = rules.add_subparsers(dest="rules_command", required=True)
    check = rules_commands.add_parser("check", help="validate rule files")
    check.add_argument("files", nargs="+", type=Path, metavar="FILE")
    test = rules_commands.add_parser("test", help="run classification tests of rule files")
    test.add_argument("files", nargs="+", type=Path, metavar="TESTFILE")
    generate = rules_commands.add_parser(
        "prometheus", help="print Prometheus recording and burn-rate alerting rules"
    )
    generate.add_argument("file", type=Path, metavar="FILE")
    generate.add_argument("--out", type=Path, help="write to this file instead of stdout")

    report = commands.add_parser("report", help="the monthly availability compliance report")
    report.add_argument("--month", required=True, help="YYYY-MM, in the rule file's time zone")
    report.add_argument("--format", choices=("json", "csv", "html"), default="json")
    report.add_argument("--out", type=Path, help="write to this file instead of stdout")
    report.add_argument("--database-url", help="default: SLAKEEPER_DATABASE_URL")
    report.add_argument("--rules", type=Path, help="rule file (default: the shipped rules)")

    demo = commands.add_parser(
        "demo", help="load realistic months of alerts and incidents into a fresh database"
    )
    demo.add_argument("--database-url", help="default: SLAKEEPER_DATABASE_URL")
    demo.add_argument("--rules", type=Path, help="rule file (default: the shipped rules)")
    demo.add_argument(
        "--month",
        help="YYYY-MM, in the rule file's time zone (default: last month and this month to date)",
    )
    demo.add_argument("--seed", type=int, default=1, help="the same seed loads the same months")
    demo.add_argument(
        "--force", action="store_true", help="load even into a database that holds alerts"
    )
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
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


def _check_rules(settings: Settings) -> None:
    try:
        load_rule_file(settings.rules or DEFAULT_RULES, default_timezone=settings.timezone)
    except RuleFileError as error:
        raise CommandError(f"refusing to start with an invalid rule file:\n{error}") from None


def serve(args: argparse.Namespace) -> None:
    """Check the settings, prepare the database, then run uvicorn."""
    names = (
        "host",
        "port",
        "workers",
        "database_url",
        "rules",
        "log_level",
        "access_log",
        "scheduler",
    )
    settings = _settings(args, names)
    problem = exposure_problem(settings, insecure=args.insecure)
    if problem is not None:
        raise CommandError(problem)
    _check_rules(settings)
    _prepare_database(settings.database_url)
    _export(settings, names)
    log.info(
        "serving on %s:%d with %s",
        settings.host,
        settings.port,
        redacted_url(settings.database_url),
    )
    from slakeeper.server import run_server

    run_server(settings)


def scheduler(args: argparse.Namespace) -> None:
    """Run the scheduled jobs against the database until SIGTERM or SIGINT; reload the rules
    on SIGHUP."""
    settings = _settings(args, ("database_url", "rules", "log_level"))
    logging.getLogger().setLevel(settings.log_level.upper())
    _check_rules(settings)
    _prepare_database(settings.database_url)
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


def rules_check(args: argparse.Namespace) -> int:
    """Validate each rule file; print every problem; 1 if any file is invalid."""
    timezone = _settings(args, ()).timezone
    invalid = 0
    for path in args.files:
        try:
            loaded = load_rule_file(path, default_timezone=timezone)
        except RuleFileError as error:
            print(f"FAILED: {path}: {len(error.problems)} problem(s)", file=sys.stderr)
            print(error, file=sys.stderr)
            invalid += 1
            continue
        spec = loaded.spec
        print(
            f"SUCCESS: {path}: {len(spec.services)} services, {len(spec.rules)} rules, "
            f"{len(spec.priorities)} priorities, {len(spec.calendars)} calendars, "
            f"{len(spec.contacts)} contacts, {len(spec.maintenance)} maintenance windows"
        )
    return 1 if invalid else 0


def rules_test(args: argparse.Namespace) -> int:
    """Run classification test files; print a diff per failure; 1 if any failed."""
    timezone = _settings(args, ()).timezone
    failed = 0
    for path in args.files:
        try:
            report = run_rule_tests(path, default_timezone=timezone)
        except RuleFileError as error:
            print(f"FAILED: cannot run {path}:\n{error}", file=sys.stderr)
            failed += 1
            continue
        print(report.format(), file=sys.stderr if report.failed else sys.stdout)
        failed += bool(report.failed)
    return 1 if failed else 0


def rules_prometheus(args: argparse.Namespace) -> int:
    """Print (or write) Prometheus rules for the services of a rule file."""
    timezone = _settings(args, ()).timezone
    try:
        loaded = load_rule_file(args.file, default_timezone=timezone)
    except RuleFileError as error:
        print(f"FAILED: {args.file}:\n{error}", file=sys.stderr)
        return 1
    objectives = [
        ServiceObjective(service.name, service.target_ratio) for service in loaded.services.values()
    ]
    text = render_prometheus_rules(objectives, source=str(args.file))
    if not objectives:
        # Not an error (the recording rules are useful alone), but never silent.
        print(
            f"{args.file} lists no services, so no SlakeeperErrorBudgetBurn alert rules were"
            " written, only the recording rules. Alert rules are written per service listed"
            " under `services:` with its `target`, e.g."
            " `- {name: payments, matchers: ['job=~\"payments.*\"'], target: 99.9}`.",
            file=sys.stderr,
        )
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote rules for {len(objectives)} services to {args.out}")
    return 0


def report(args: argparse.Namespace) -> None:
    """Print (or write) the compliance report of a month."""
    from availability.html import render_html
    from availability.periods import PeriodInFuture, parse_month
    from availability.rendering import report_csv, report_json
    from availability.report import build_report
    from slakeeper.app import utc_now

    settings = _settings(args, ("database_url", "rules"))
    try:
        year, month = parse_month(args.month)
        rules = load_rule_file(settings.rules or DEFAULT_RULES, default_timezone=settings.timezone)
    except (ValueError, RuleFileError) as error:
        raise CommandError(str(error)) from None
    _prepare_database(settings.database_url)
    engine = create_database_engine(settings.database_url)
    try:
        with Session(engine) as session:
            built = build_report(session, rules=rules, year=year, month=month, now=utc_now())
    except PeriodInFuture as error:
        raise CommandError(str(error)) from None
    except SQLAlchemyError as error:
        raise CommandError(f"cannot read the database: {error_summary(error)}") from None
    finally:
        engine.dispose()
    if args.format == "csv":
        text = report_csv(built)
    elif args.format == "html":
        text = render_html(built)
    else:
        text = orjson.dumps(report_json(built), option=orjson.OPT_INDENT_2).decode() + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote the {args.month} report ({args.format}) to {args.out}", file=sys.stderr)


def demo(args: argparse.Namespace) -> None:
    """Load simulated months into the database, then say what they hold and where to look."""
    from availability.periods import PeriodInFuture, parse_month
    from slakeeper.demo import (
        DatabaseNotEmpty,
        ScenarioError,
        default_months,
        format_summary,
        run_demo,
    )

    settings = _settings(args, ("database_url", "rules"))
    now = datetime.now(UTC)  # where the simulation stops; it never reads the clock itself
    try:
        rules = load_rule_file(settings.rules or DEFAULT_RULES, default_timezone=settings.timezone)
        months = [parse_month(args.month)] if args.month else default_months(rules, now=now)
    except (ValueError, RuleFileError) as error:
        raise CommandError(str(error)) from None
    _prepare_database(settings.database_url)
    engine = create_database_engine(settings.database_url)
    started = time.monotonic()
    try:
        summary = run_demo(
            engine,
            rules=rules,
            months=months,
            seed=args.seed,
            now=now,
            force=args.force,
            progress=not args.quiet and sys.stderr.isatty(),
        )
    except (DatabaseNotEmpty, PeriodInFuture, ScenarioError) as error:
        raise CommandError(str(error)) from None
    except SQLAlchemyError as error:
        raise CommandError(f"cannot load the demo: {error_summary(error)}") from None
    finally:
        engine.dispose()
    where = redacted_url(settings.database_url)
    print(f"Loaded the demo (seed {args.seed}) into {where} in {time.monotonic() - started:.1f} s")
    print(format_summary(summary))
    options = "" if settings.database_url == DEFAULT_DATABASE_URL else f" --database-url {where}"
    options += f" --rules {settings.rules}" if settings.rules else ""
    base = f"http://{settings.host}:{settings.port}"
    print(
        f"\nNext:\n  slakeeper serve{options}\n"
        f"  {base}/api/v1/reports/availability?month={summary.reports[0].month}&format=html\n"
        f"  {base}/metrics  (for Prometheus; the Grafana dashboards read it from there)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `slakeeper` console script."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        if args.command == "serve":
            serve(args)
        elif args.command == "scheduler":
            scheduler(args)
        elif args.command == "db" and args.db_command == "upgrade":
            db_upgrade(args)
        elif args.command == "report":
            report(args)
        elif args.command == "demo":
            demo(args)
        elif args.command == "rules":
            command = {"check": rules_check, "test": rules_test, "prometheus": rules_prometheus}
            return command[args.rules_command](args)
    except CommandError as error:
        print(f"slakeeper: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
