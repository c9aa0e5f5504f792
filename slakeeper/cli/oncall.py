"""`slakeeper oncall`: who is on call in each rotation now, and the next hand-offs."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from core.database import create_database_engine, error_summary
from rules.loader import DEFAULT_RULES, RuleFileError, load_rule_file
from slakeeper.cli.options import DATABASE_URL, RULES, Commands
from slakeeper.cli.preflight import CommandError, prepare_database, settings_from

__all__ = ["add_parsers", "oncall"]


def add_parsers(commands: Commands) -> None:
    """The `oncall` verb."""
    verb = commands.add_parser(
        "oncall",
        help="who is on call in each rotation, and the next hand-offs",
        parents=[DATABASE_URL, RULES],
    )
    verb.add_argument("--at", help="an RFC 3339 instant (default: now)")
    verb.add_argument("--hours", type=int, default=48, help="hand-offs this far ahead")
    verb.add_argument("--json", action="store_true", help="the API's JSON instead of a table")
    verb.set_defaults(handler=oncall)


def oncall(args: argparse.Namespace) -> None:
    """Print who is on call."""
    from oncall.service import who_is_on_call
    from slakeeper.app import utc_now

    settings = settings_from(args, ("database_url", "rules"))
    try:
        at = datetime.fromisoformat(args.at) if args.at else utc_now()
        if at.tzinfo is None:
            raise ValueError(f"--at needs an offset or Z: {args.at}")
        if not 1 <= args.hours <= 24 * 31:
            raise ValueError("--hours from 1 to 744")
        rules = load_rule_file(settings.rules or DEFAULT_RULES, default_timezone=settings.timezone)
    except (ValueError, RuleFileError) as error:
        raise CommandError(str(error)) from None
    prepare_database(settings.database_url)
    engine = create_database_engine(settings.database_url)
    try:
        with Session(engine) as session:
            found = who_is_on_call(session, rules=rules, at=at, horizon=timedelta(hours=args.hours))
    except SQLAlchemyError as error:
        raise CommandError(f"database error: {error_summary(error)}") from None
    finally:
        engine.dispose()
    if args.json:
        print(orjson.dumps([now.resource() for now in found]).decode())
        return
    if not found:
        print(
            "no rotation: define one under `rotations:` in the rule file or PUT /api/v1/rotations"
        )
    for now in found:
        zone = ZoneInfo(now.zone) if now.zone else None
        current = now.current
        who = f"{current.person} until {_local(current.end, zone)}" if current else "nobody"
        print(f"{now.entry.name} ({now.entry.source}, {now.zone}): {who}")
        for turn in now.upcoming:
            how = " (override)" if turn.override is not None else ""
            print(f"  {_local(turn.start, zone)}  {turn.person}{how}")
        for problem in now.problems:
            print(f"  problem: {problem}")


def _local(moment: datetime, zone: ZoneInfo | None) -> str:
    shown = moment.astimezone(zone) if zone else moment
    return f"{shown:%Y-%m-%d %H:%M %Z}"
