"""`slakeeper report`: the monthly availability compliance report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

import orjson
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from core.database import create_database_engine, error_summary
from rules.loader import RuleFileError, load_rule_file
from slakeeper.cli.options import DATABASE_URL, RULES, Commands
from slakeeper.cli.preflight import CommandError, prepare_database, settings_from

if TYPE_CHECKING:
    from availability.compliance import ComplianceReport

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
    what.add_argument("--format", choices=("json", "csv", "html", "pdf"), default="json")
    what.add_argument(
        "--lang", choices=("en", "zh-CN"), default="en", help="language of HTML and PDF"
    )
    what.add_argument("--out", type=Path, help="write to this file instead of stdout")
    return what


def report(args: argparse.Namespace) -> None:
    """Print (or write) the compliance report of a month."""
    from availability.periods import PeriodInFuture, parse_month
    from ledger.reporting import month_report
    from slakeeper.app import utc_now
    from slakeeper.cli.month import server_rules

    settings = settings_from(args, ("database_url", "rules"))
    try:
        year, month = parse_month(args.month)
        given = (
            load_rule_file(settings.rules, default_timezone=settings.timezone)
            if settings.rules
            else None
        )
    except (ValueError, RuleFileError) as error:
        raise CommandError(str(error)) from None
    prepare_database(settings.database_url)
    engine = create_database_engine(settings.database_url)
    try:
        with Session(engine) as session:
            # The server's rules (stored when it loaded them), as the API reports with;
            # a closed month's services from their records.
            rules = server_rules(session, given, timezone=settings.timezone)
            built = month_report(session, rules=rules, year=year, month=month, now=utc_now())
    except PeriodInFuture as error:
        raise CommandError(str(error)) from None
    except SQLAlchemyError as error:
        raise CommandError(f"cannot read the database: {error_summary(error)}") from None
    finally:
        engine.dispose()
    _write(args, _rendered(built, args.format, args.lang, settings.chromium_path))


def _rendered(built: ComplianceReport, format_: str, lang: str, chromium: str) -> bytes:
    from availability.pdf import PdfError
    from availability.rendering import report_json
    from availability.report_response import report_file

    if format_ == "json":
        return orjson.dumps(report_json(built), option=orjson.OPT_INDENT_2) + b"\n"
    try:
        kind = cast(Literal["csv", "html", "pdf"], format_)  # argparse's choices
        return report_file(built, format=kind, lang=lang, chromium=chromium).content
    except PdfError as error:
        raise CommandError(str(error)) from None


def _write(args: argparse.Namespace, content: bytes) -> None:
    """To `--out`, or to stdout (as bytes: a PDF too, for a pipe)."""
    if args.out is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
        return
    args.out.write_bytes(content)
    what = f"{args.format}, {args.lang}" if args.format in ("html", "pdf") else args.format
    print(f"wrote the {args.month} report ({what}) to {args.out}", file=sys.stderr)
