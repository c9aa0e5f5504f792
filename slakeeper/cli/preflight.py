"""What the verbs check before they start: settings, the rule file, the database's schema."""

from __future__ import annotations

import argparse
import getpass
import os
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from access.audit import Caller
from access.roles import Kind, Principal, Role
from core.database import (
    create_database_engine,
    error_summary,
    normalise_database_url,
    redacted_url,
)
from rules.loader import DEFAULT_RULES, RuleFileError, load_rule_file
from slakeeper import migrate
from slakeeper.settings import Settings, load_settings

__all__ = [
    "CommandError",
    "check_rules",
    "cli_caller",
    "export_settings",
    "prepare_database",
    "settings_from",
]


class CommandError(Exception):
    """A command cannot go on; the message says why and what to do."""


def settings_from(args: argparse.Namespace, names: Sequence[str]) -> Settings:
    """The settings, with the options `names` (where given) over the environment's."""
    overrides = {name: getattr(args, name, None) for name in names}
    try:
        return load_settings(**overrides)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
        )
        raise CommandError(f"invalid settings: {problems}") from None


def export_settings(settings: Settings, names: Sequence[str]) -> None:
    """Put the settings `names` into the environment."""
    # uvicorn's worker processes build their app from the environment.
    for name in names:
        value = getattr(settings, name)
        if value is not None:
            os.environ[f"SLAKEEPER_{name.upper()}"] = str(value)


def prepare_database(url: str) -> None:
    """Migrate a SQLite database; refuse any other that is not at this release's schema."""
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


def check_rules(settings: Settings) -> None:
    """Refuse to start with a rule file that does not load."""
    try:
        load_rule_file(settings.rules or DEFAULT_RULES, default_timezone=settings.timezone)
    except RuleFileError as error:
        raise CommandError(f"refusing to start with an invalid rule file:\n{error}") from None


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def cli_caller(role: Role) -> Caller:
    """Who a command's writes are recorded as: `cli:<the operating-system user>`, local."""
    return Caller(
        Principal(name=f"cli:{_os_user()}", kind=Kind.LOCAL, role=role, method="cli"), None
    )
