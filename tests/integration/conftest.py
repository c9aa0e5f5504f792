"""Apps on real databases, as an in-process client or as a real server on a loopback port."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from core.database import create_database_engine
from slakeeper.app import create_app
from slakeeper.settings import Settings
from tests.integration.processes import Server, serving


@dataclass
class Clock:
    """A clock tests move by hand."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 21, 23, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


AppFactory = Callable[..., FastAPI]


@pytest.fixture
def make_app(database_url: str, clock: Clock) -> AppFactory:
    """Build an app on this test's database; keyword arguments override settings."""

    def build(**overrides: Any) -> FastAPI:
        settings = Settings(database_url=database_url, **overrides)
        return create_app(settings, clock=clock)

    return build


@pytest.fixture
def client(make_app: AppFactory) -> Iterator[TestClient]:
    with TestClient(make_app()) as test_client:
        yield test_client


@pytest.fixture
def query(database_url: str) -> Iterator[Callable[[str], list[Any]]]:
    """Run SQL against the test database directly, to see what was really stored."""
    engine = create_database_engine(database_url)

    def run(sql: str) -> list[Any]:
        with engine.connect() as connection:
            return list(connection.execute(text(sql)))

    yield run
    engine.dispose()


class LiveServer:
    """A real uvicorn server in a thread, on a free loopback port."""

    def __init__(self, app: FastAPI) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def url(self) -> str:
        sockets = self._server.servers[0].sockets
        host, port = sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(15)


@contextmanager
def live_server(app: FastAPI) -> Iterator[LiveServer]:
    server = LiveServer(app).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def serve(free_port: Callable[[], int], tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """`serve(*args, **env)` starts `slakeeper serve` and waits until it is ready."""
    yield from serving(free_port, tmp_path)
