"""`slakeeper rules check|test|prometheus`: check, test and use rule files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rules.loader import RuleFileError, load_rule_file
from rules.prometheus import ServiceObjective, render_prometheus_rules
from rules.testing import run_rule_tests
from slakeeper.cli.options import Commands
from slakeeper.cli.preflight import settings_from

__all__ = ["add_parsers", "rules_check", "rules_prometheus", "rules_test"]


def add_parsers(commands: Commands) -> None:
    """The `rules` verb and its `check`, `test` and `prometheus`."""
    rules = commands.add_parser("rules", help="check, test and use rule files")
    rules_commands = rules.add_subparsers(dest="rules_command", required=True)
    check = rules_commands.add_parser("check", help="validate rule files")
    check.add_argument("files", nargs="+", type=Path, metavar="FILE")
    check.set_defaults(handler=rules_check)
    test = rules_commands.add_parser("test", help="run classification tests of rule files")
    test.add_argument("files", nargs="+", type=Path, metavar="TESTFILE")
    test.set_defaults(handler=rules_test)
    generate = rules_commands.add_parser(
        "prometheus", help="print Prometheus recording and burn-rate alerting rules"
    )
    generate.add_argument("file", type=Path, metavar="FILE")
    generate.add_argument("--out", type=Path, help="write to this file instead of stdout")
    generate.set_defaults(handler=rules_prometheus)


def rules_check(args: argparse.Namespace) -> int:
    """Validate each rule file; print every problem; 1 if any file is invalid."""
    timezone = settings_from(args, ()).timezone
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
    timezone = settings_from(args, ()).timezone
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
    timezone = settings_from(args, ()).timezone
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
