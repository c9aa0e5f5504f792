"""The `slakeeper` command as an operator runs it: real processes, real databases."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import FIXTURES
from tests.integration.processes import Server, run


@pytest.fixture
def empty_postgres(postgres_url: str) -> Iterator[str]:
    """A PostgreSQL database with no schema at all."""
    admin = make_url(postgres_url)
    name = f"slakeeper_empty_{uuid.uuid4().hex[:8]}"
    conninfo = f"host={admin.host} port={admin.port or 5432} user={admin.username} dbname=postgres"
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_serve_refuses_a_configured_token_shorter_than_16_characters(tmp_path: Path) -> None:
    result = run("serve", "--port", "1", cwd=tmp_path, SLAKEEPER_INGEST_TOKENS="am-secret")
    assert result.returncode == 2
    assert "SLAKEEPER_INGEST_TOKENS" in result.stderr or "ingest_tokens" in result.stderr
    assert "at least 16 characters" in result.stderr
    assert "am-secret" not in result.stderr
    assert not (tmp_path / "slakeeper.db").exists()


def test_serve_refuses_a_postgresql_database_without_schema(empty_postgres: str) -> None:
    result = run("serve", "--database-url", empty_postgres, "--port", "1")
    assert result.returncode == 2
    assert "slakeeper db upgrade" in result.stderr


def test_serve_refuses_a_rule_file_that_does_not_exist(tmp_path: Path) -> None:
    result = run("serve", "--rules", str(tmp_path / "missing.yaml"), cwd=tmp_path)
    assert result.returncode == 2
    assert "missing.yaml" in result.stderr


def test_serve_on_the_embedded_default_creates_a_wal_sqlite_file_and_takes_alerts(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    server = serve()
    database = tmp_path / "slakeeper.db"
    assert database.exists()
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    for fixture in sorted((FIXTURES / "alertmanager-0.25").glob("webhook_*_*.json")):
        if fixture.name == "webhook_headers.json":
            continue
        response = httpx.post(
            server.url + "/api/v1/webhooks/alertmanager",
            content=fixture.read_bytes(),
            headers={"Content-Type": "application/json", "User-Agent": "Alertmanager/0.25.0"},
        )
        assert response.status_code == 200, fixture.name
    items = httpx.get(server.url + "/api/v1/alerts").json()["items"]
    assert {item["fingerprint"] for item in items} == {
        "10ef5462552c7f01",
        "d27b75834201ca73",
        "1ca65c6243492032",
    }
    assert {item["status"] for item in items} == {"resolved"}


def test_db_upgrade_then_serve_on_postgresql_with_two_workers(
    empty_postgres: str, serve: Callable[..., Server]
) -> None:
    upgraded = run("db", "upgrade", SLAKEEPER_DATABASE_URL=empty_postgres)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "is at" in upgraded.stdout
    server = serve("--workers", "2", SLAKEEPER_DATABASE_URL=empty_postgres)
    payload = (FIXTURES / "alertmanager-0.25/webhook_firing_critical.json").read_bytes()
    for _ in range(6):
        response = httpx.post(
            server.url + "/api/v1/webhooks/alertmanager",
            content=payload,
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 200
    [alert] = httpx.get(server.url + "/api/v1/alerts").json()["items"]
    assert alert["receive_count"] == 6


def test_db_upgrade_reports_an_unreachable_database_without_a_traceback(
    free_port: Callable[[], int],
) -> None:
    url = f"postgresql://postgres:hunter2@127.0.0.1:{free_port()}/nowhere"
    result = run("db", "upgrade", "--database-url", url)
    assert result.returncode == 2
    assert "migration failed" in result.stderr
    assert "Traceback" not in result.stderr
    assert "hunter2" not in result.stderr + result.stdout


def test_report_on_a_fresh_install_with_the_shipped_rules(tmp_path: Path) -> None:
    # No service is known yet: the report is empty, not a traceback.
    database = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert run("db", "upgrade", "--database-url", database).returncode == 0
    result = run("report", "--month", "2026-10", "--database-url", database)
    assert result.returncode == 0, result.stderr
    assert '"services"' in result.stdout and "Traceback" not in result.stderr
