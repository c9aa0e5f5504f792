"""The `slakeeper` command: `serve`, `scheduler`, `db upgrade`, `rules check|test|prometheus`,
`report`, `demo`, `users`, `tokens`, `oncall`.

Each verb's module adds its parser (shared options come from `options`' parent parsers) and
sets the function that runs it as the parser's `handler`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from slakeeper import __version__
from slakeeper.cli import database, demo, month, oncall, people, report, rule_files, serving
from slakeeper.cli.options import Handler
from slakeeper.cli.preflight import CommandError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slakeeper", description="Alert-to-incident-to-SLA pipeline for Prometheus."
    )
    parser.add_argument("--version", action="version", version=f"slakeeper {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for verbs in (serving, database, rule_files, report, month, demo, people, oncall):
        verbs.add_parsers(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `slakeeper` console script."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    handler: Handler = args.handler
    try:
        return handler(args) or 0
    except CommandError as error:
        print(f"slakeeper: {error}", file=sys.stderr)
        return 2
