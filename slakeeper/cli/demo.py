"""`slakeeper demo`: realistic months of alerts and incidents in a fresh database."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from core.database import create_database_engine, error_summary, redacted_url
from rules.loader import DEFAULT_RULES, RuleFileError, load_rule_file
from slakeeper.cli.options import DATABASE_URL, RULES, Commands
from slakeeper.cli.preflight import CommandError, prepare_database, settings_from
from slakeeper.settings import DEFAULT_DATABASE_URL

__all__ = ["add_parsers", "demo"]


def add_parsers(commands: Commands) -> None:
    """The `demo` verb."""
    demo_ = commands.add_parser(
        "demo",
        help="load realistic months of alerts and incidents into a fresh database",
        parents=[DATABASE_URL, RULES],
    )
    demo_.add_argument(
        "--month",
        help="YYYY-MM, in the rule file's time zone (default: last month and this month to date)",
    )
    demo_.add_argument("--seed", type=int, default=1, help="the same seed loads the same months")
    demo_.add_argument(
        "--force", action="store_true", help="load even into a database that holds alerts"
    )
    demo_.add_argument("--quiet", action="store_true", help="no progress bar")
    demo_.set_defaults(handler=demo)


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

    settings = settings_from(args, ("database_url", "rules"))
    now = datetime.now(UTC)  # where the simulation stops; it never reads the clock itself
    try:
        rules = load_rule_file(settings.rules or DEFAULT_RULES, default_timezone=settings.timezone)
        months = [parse_month(args.month)] if args.month else default_months(rules, now=now)
    except (ValueError, RuleFileError) as error:
        raise CommandError(str(error)) from None
    prepare_database(settings.database_url)
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
