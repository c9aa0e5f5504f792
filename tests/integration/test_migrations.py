"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

import collector.models  # noqa: F401 - registers the tables
import incident.models  # noqa: F401
from core.database import Base, create_database_engine
from incident.models import Incident
from slakeeper import migrate


def test_a_migrated_database_matches_the_models(database_url: str) -> None:
    engine = create_database_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
        assert migrate.current_revision(engine) == migrate.head_revision()
    finally:
        engine.dispose()


def test_upgrading_twice_is_harmless(database_url: str) -> None:
    engine = create_database_engine(database_url)
    try:
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision()
    finally:
        engine.dispose()


def incident_row(group_key: str, state: str) -> dict[str, Any]:
    now = datetime(2026, 11, 22, tzinfo=UTC)
    return {
        "title": "t",
        "service": "s",
        "priority": "P3",
        "category": "other",
        "impact": "none",
        "state": state,
        "source": "alert",
        "group_key": group_key,
        "started_at": now,
        "opened_at": now,
        "response_breached": False,
        "resolution_breached": False,
        "flap_count": 0,
        "updated_at": now,
    }


def test_the_database_allows_one_active_incident_per_group_key(database_url: str) -> None:
    engine = create_database_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(Incident),
                [
                    incident_row("g", "resolved"),
                    incident_row("g", "closed"),
                    incident_row("g", "open"),
                    incident_row("h", "acknowledged"),
                ],
            )
        for state in ("open", "acknowledged"):
            with pytest.raises(IntegrityError), engine.begin() as connection:
                connection.execute(insert(Incident), [incident_row("g", state)])
    finally:
        engine.dispose()


def downgrade(engine: Any, revision: str) -> None:
    from alembic import command

    config = migrate.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_upgrading_to_0006_requotes_group_keys_and_widens_label_columns(
    database_url: str,
) -> None:
    from sqlalchemy import select, text

    from rules.engine import _group_key

    labels = {"alertname": 'say "hi"', "job": "a\\b", "instance": "tab\there"}
    group_by = ("service", "alertname", "job", "instance")
    old_key = '{service="s",alertname="say "hi"",job="a\\b",instance="tab\there"}'
    engine = create_database_engine(database_url)
    try:
        downgrade(engine, "0005")
        with engine.begin() as connection:
            connection.execute(insert(Incident), [incident_row(old_key, "open")])
            connection.execute(insert(Incident), [incident_row('{service="s"}', "open")])
        migrate.upgrade(engine)
        with engine.begin() as connection:
            keys = set(connection.execute(select(Incident.group_key)).scalars())
            # What the engine computes for the same alert finds the incident opened before.
            assert keys == {_group_key(group_by, "s", labels), '{service="s"}'}
            long_service = "s" * 1000
            connection.execute(
                text("UPDATE incidents SET service = :s, priority = :p"),
                {"s": long_service, "p": "p" * 64},
            )
            assert set(connection.execute(select(Incident.service)).scalars()) == {long_service}
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()
