"""The options several verbs share, as argparse parent parsers, and a verb's handler type."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TypeAlias

__all__ = [
    "DATABASE_URL",
    "LOG_LEVEL",
    "RULES",
    "SERVER_DATABASE_URL",
    "Commands",
    "Handler",
]

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Handler: TypeAlias = Callable[[argparse.Namespace], int | None]
"""What a verb runs (set as its parser's `handler` default); None means success."""


def _database_url(help_: str) -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--database-url", help=help_)
    return parent


def _rules() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--rules", type=Path, help="rule file (default: the shipped rules)")
    return parent


def _log_level() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--log-level", help="critical, error, warning, info or debug")
    return parent


# A long-running process's help names the database URL's forms; a one-off command's help
# says where the URL comes from otherwise.
SERVER_DATABASE_URL = _database_url("sqlite:///PATH or postgresql://USER@HOST:PORT/DB")
DATABASE_URL = _database_url("default: SLAKEEPER_DATABASE_URL")
RULES = _rules()
LOG_LEVEL = _log_level()
