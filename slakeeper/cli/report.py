"""`slakeeper report`: the monthly availability compliance report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from core.database import create_database_engine, error_summary
from rules.loader import DEFAULT_RULES, RuleFileError, load_rule_file
from slakeeper.cli.options import DATABASE_URL, RULES, Commands
from slakeeper.cli.preflight import CommandError, prepare_database, settings_from

__all__ = ["add_parsers", "report"]


def add_parsers(commands: Commands) -> None:
    """The `report` verb."""
    report_ = commands.add_parser(
        "report",
        help="the monthly availability compliance report",
        parents=[_what_to_report(), DATABASE_URL, RULES],
    )
    report_.set_defaults(handler=report)


def _what_to_report() -> argparse.ArgumentParser:
    what = argparse.ArgumentParser(add_help=False)
    what.add_argument("--month", required=True, help="YYYY-MM, in the rule file's time zone")
    what.add_argument("--format", choices=("json", "csv", "html"), default="json")
    what.add_argument("--out", type=Path, help="write to this file instead of stdout")
    return what


def report(args: argparse.Namespace) -> None:
    """Print (or write) the compliance report of a month."""
    from availability.html import render_html
    from availability.periods import PeriodInFuture, parse_month
    from availability.rendering import report_csv, report_json
    from availability.report import build_report
    from slakeeper.app import utc_now

    settings = settings_from(args, ("database_url", "rules"))
    try:
        year, month = parse_month(args.month)
        rules = load_rule_file(settings.rules or DEFAULT_RULES, default_timezone=settings.timezone)
    except (ValueError, RuleFileError) as error:
        raise CommandError(str(error)) from None
    prepare_database(settings.database_url)
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
