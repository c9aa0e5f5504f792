"""With the database away, pushes get 503 (so Alertmanager retries); nothing is half-written."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from slakeeper.app import create_app
from slakeeper.settings import Settings
from tests.integration.payloads import webhook, webhook_alert, webhook_with
from tests.integration.tcp_proxy import TcpProxy

AM = "/api/v1/webhooks/alertmanager"


@pytest.fixture
def proxied_postgres(postgres_url: str) -> Iterator[tuple[TcpProxy, str]]:
    from sqlalchemy import text

    from core.database import create_database_engine
    from tests.conftest import TABLES

    engine = create_database_engine(postgres_url)
    with engine.begin() as connection:
        # Every table, accounts included: an account left by another test closes the door.
        connection.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY"))
    engine.dispose()
    target = make_url(postgres_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432).start()
    via_proxy = target.set(host="127.0.0.1", port=proxy.port)
    yield proxy, via_proxy.render_as_string(hide_password=False)
    proxy.cut()


def test_a_postgresql_outage_answers_503_and_recovery_stores_the_retry(
    proxied_postgres: tuple[TcpProxy, str],
) -> None:
    proxy, url = proxied_postgres
    with TestClient(create_app(Settings(database_url=url))) as client:
        assert client.post(AM, json=webhook("webhook_firing_warning.json")).status_code == 200

        proxy.cut()
        retried = webhook_with(webhook_alert("DuringOutage"))
        response = client.post(AM, json=retried)
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "database_unavailable"
        assert response.headers["retry-after"]
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200
        listing = client.get("/api/v1/alerts")
        assert listing.status_code == 503
        assert listing.json()["error"]["code"] == "database_unavailable"

        proxy.restore()
        assert client.get("/readyz").status_code == 200
        assert client.post(AM, json=retried).status_code == 200
        items = client.get("/api/v1/alerts").json()["items"]
        assert sorted(item["labels"]["alertname"] for item in items) == [
            "DuringOutage",
            "ProbeValueHigh",
        ]
        assert [item["receive_count"] for item in items] == [1, 1]


def test_a_connection_that_died_between_pushes_is_replaced_without_an_error(
    proxied_postgres: tuple[TcpProxy, str],
) -> None:
    proxy, url = proxied_postgres
    with TestClient(create_app(Settings(database_url=url))) as client:
        assert client.post(AM, json=webhook("webhook_firing_warning.json")).status_code == 200
        # PostgreSQL restarts while nobody is pushing: the writer's connection is dead.
        proxy.cut()
        proxy.restore()
        response = client.post(AM, json=webhook("webhook_firing_critical.json"))
        assert response.status_code == 200, response.text
        assert len(client.get("/api/v1/alerts").json()["items"]) == 2


def test_a_locked_sqlite_database_answers_503_and_stores_nothing(tmp_path: object) -> None:
    from pathlib import Path

    from core.database import create_database_engine
    from slakeeper import migrate

    path = Path(str(tmp_path)) / "locked.db"
    engine = create_database_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    with TestClient(create_app(Settings(database_url=f"sqlite:///{path}"))) as client:
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            response = client.post(AM, json=webhook())
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "database_unavailable"
        assert client.get("/api/v1/alerts").json()["items"] == []
        assert client.post(AM, json=webhook()).status_code == 200
