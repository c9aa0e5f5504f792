"""`slakeeper month close|reopen|show`: the signed month from the command line.

Figures are computed with the rule file the server loaded last (stored in the database), as
the server computes them; a `--rules` file that differs is named on stderr and not used. A
database no server has used yet takes `--rules` (or the shipped rule file).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from access.roles import Role
from core.database import create_database_engine, error_summary
from rules.loader import DEFAULT_RULES, RuleFileError, load_rule_file
from rules.policy import RuleFile
from slakeeper.cli.options import DATABASE_URL, RULES, Commands
from slakeeper.cli.preflight import CommandError, cli_caller, prepare_database, settings_from

__all__ = ["add_parsers", "server_rules"]


def add_parsers(commands: Commands) -> None:
    """The `month` verbs."""
    month = commands.add_parser("month", help="close, reopen and show a month's record")
    verbs = month.add_subparsers(dest="month_command", required=True)
    common = [_which_month(), DATABASE_URL, RULES]
    close = verbs.add_parser("close", help="store the month's figures", parents=common)
    close.set_defaults(handler=close_month)
    reopen = verbs.add_parser("reopen", help="reopen a closed month", parents=common)
    reopen.add_argument("--reason", required=True, help="why (recorded in the audit trail)")
    reopen.set_defaults(handler=reopen_month)
    show = verbs.add_parser("show", help="the month's record and figures", parents=common)
    show.add_argument("--format", choices=("text", "json"), default="text")
    show.set_defaults(handler=show_month)


def _which_month() -> argparse.ArgumentParser:
    which = argparse.ArgumentParser(add_help=False)
    which.add_argument("month", help="YYYY-MM")
    which.add_argument(
        "--service", action="append", help="only this service (repeat for more; default: all)"
    )
    return which


CLI = cli_caller(Role.MANAGER)


def server_rules(session: Session, given: RuleFile | None, *, timezone: str = "UTC") -> RuleFile:
    """The rule file the server loaded last; `given` (or the shipped one) if none did.

    A `given` rule file that differs from the server's is named on stderr.
    """
    from ledger.policies import stored_rules
    from ledger.store import latest_policy

    stored = latest_policy(session)
    if stored is None:
        return given or load_rule_file(DEFAULT_RULES, default_timezone=timezone)
    if given is not None and given.digest != stored.digest:
        print(
            f"note: {given.source} (SHA-256 {given.digest[:12]}…) differs from the rule file "
            f"the server loaded ({stored.source}, SHA-256 {stored.digest[:12]}…, "
            f"{stored.last_loaded_at:%Y-%m-%d %H:%M} UTC); the figures use the server's",
            file=sys.stderr,
        )
    return stored_rules(session, stored.digest)


@dataclass(frozen=True)
class _Rules:
    current: RuleFile


@contextmanager
def _desk(args: argparse.Namespace) -> Iterator[Any]:
    from ledger.desk import LedgerDesk
    from slakeeper.app import utc_now

    settings = settings_from(args, ("database_url", "rules"))
    try:
        given = (
            load_rule_file(settings.rules, default_timezone=settings.timezone)
            if settings.rules
            else None
        )
    except RuleFileError as error:
        raise CommandError(str(error)) from None
    prepare_database(settings.database_url)
    engine: Engine = create_database_engine(settings.database_url)
    try:
        sessions = sessionmaker(engine, expire_on_commit=False)
        with sessions() as session:
            rules = server_rules(session, given, timezone=settings.timezone)
        yield LedgerDesk(
            engine,
            sessions,
            _Rules(rules),
            utc_now,
            needs_approval=settings.adjustments_need_approval,
        )
    except SQLAlchemyError as error:
        raise CommandError(f"cannot use the database: {error_summary(error)}") from None
    except (ValueError, LookupError) as error:
        raise CommandError(str(error)) from None
    finally:
        engine.dispose()


def close_month(args: argparse.Namespace) -> None:
    from ledger.desk import CloseBody, close

    with _desk(args) as desk:
        closed = close(desk, CLI, args.month, CloseBody(services=args.service))
    for record in closed:
        print(
            f"closed {args.month} for {record['service']} (version {record['version']}, "
            f"SHA-256 {record['digest']})"
        )


def reopen_month(args: argparse.Namespace) -> None:
    from ledger.desk import ReopenBody, reopen

    with _desk(args) as desk:
        reopened = reopen(
            desk, CLI, args.month, ReopenBody(services=args.service, reason=args.reason)
        )
    for record in reopened:
        print(f"reopened {args.month} for {record['service']}")


def show_month(args: argparse.Namespace) -> None:
    from availability.periods import parse_month
    from ledger.view import month_view

    with _desk(args) as desk, desk.sessions() as session:
        year, number = parse_month(args.month)
        view = month_view(
            session, rules=desk.rules.current, year=year, month=number, now=desk.clock()
        )
    if args.service:
        view["services"] = [row for row in view["services"] if row["service"] in args.service]
    if args.format == "json":
        sys.stdout.write(orjson.dumps(view, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    sys.stdout.write(_text(view))


def _text(view: dict[str, Any]) -> str:
    lines = [
        f"month {view['month']}: {view['state']}",
        f"digest {view['digest'] or '(not closed)'}",
        f"rules  {view['rules_digest']}",
        "",
        f"{'service':<24} {'state':<7} {'raw':>10} {'adjusted':>10} {'unknown s':>10} "
        f"{'credit':>7}",
    ]
    for row in view["services"]:
        lines.append(
            f"{row['service']:<24} {row['month_state']:<7} "
            f"{row['raw_availability_ratio'] * 100:>9.4f}% "
            f"{row['availability_ratio'] * 100:>9.4f}% "
            f"{row['unknown_seconds']:>10.0f} {row['credit_ratio'] * 100:>6.1f}%"
        )
    lines.append("")
    lines.append(
        f"adjustments {len(view['adjustments'])}, disputes open "
        f"{sum(d['state'] == 'open' for d in view['disputes'])}, changes since close pending "
        f"{sum(c['state'] == 'pending' for c in view['pending_changes'])}"
    )
    return "\n".join(lines) + "\n"
