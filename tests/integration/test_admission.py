"""Bytes in flight are bounded: beyond the ceiling a push gets 503 and Retry-After, and nothing
of it is read or written; the bytes come back once a push is answered."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from collector.admission import InflightBytes, Overloaded
from slakeeper.settings import Settings
from tests.integration.conftest import AppFactory, live_server
from tests.integration.payloads import webhook_alert, webhook_with

AM = "/api/v1/webhooks/alertmanager"
Query = Callable[[str], list[Any]]


def test_the_budget_refuses_what_would_pass_the_ceiling_and_takes_nothing() -> None:
    budget = InflightBytes(100)
    budget.reserve(60)
    with pytest.raises(Overloaded, match="ceiling of 100"):
        budget.reserve(41)
    assert budget.in_flight == 60
    budget.reserve(40)
    budget.release(60)
    budget.release(40)
    assert budget.in_flight == 0


def test_a_ceiling_below_one_push_of_the_largest_size_is_refused() -> None:
    with pytest.raises(ValueError, match="max_inflight_bytes"):
        Settings(max_body_bytes=1 << 20, max_inflight_bytes=1 << 19)


def body_of(*names: str, pad: int = 0) -> bytes:
    alerts = [webhook_alert(name, service="payments") for name in names]
    payload = webhook_with(*alerts, receiver="r" * pad)
    return json.dumps(payload).encode()


def test_a_push_past_the_bytes_in_flight_waits_for_a_retry(
    make_app: AppFactory, query: Query
) -> None:
    app = make_app(max_body_bytes=8192, max_inflight_bytes=12_000)
    slow = body_of("Slow", pad=6000)
    with live_server(app) as server:
        host, port = server.url.removeprefix("http://").split(":")
        # A sender that declared 6 kB and has sent only part of it: its bytes are reserved.
        held = socket.create_connection((host, int(port)))
        held.sendall(
            f"POST {AM} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(slow)}\r\n\r\n".encode()
            + slow[:100]
        )
        try:
            # Its credential is checked first (here: may anyone push?), then its bytes are
            # reserved: wait for that before the second push arrives.
            budget = app.state.ingestion.budget
            deadline = time.monotonic() + 10
            while budget.in_flight < len(slow) and time.monotonic() < deadline:
                time.sleep(0.01)
            assert budget.in_flight == len(slow)
            with httpx.Client(base_url=server.url, timeout=10) as client:
                second = body_of("Second", pad=6500)
                refused = client.post(
                    AM, content=second, headers={"Content-Type": "application/json"}
                )
                assert refused.status_code == 503, refused.text
                assert refused.headers["Retry-After"] == "2"
                error = refused.json()["error"]
                assert error["code"] == "overloaded"
                assert error["details"]["max_inflight_bytes"] == 12_000
                # A small push still fits beside the one in flight.
                small = client.post(
                    AM, content=body_of("Small"), headers={"Content-Type": "application/json"}
                )
                assert small.status_code == 200, small.text
                # The held push completes; its bytes come back and the retry is admitted.
                held.sendall(slow[100:])
                assert b" 200 " in held.recv(4096).split(b"\r\n", 1)[0]
                retried = client.post(
                    AM, content=second, headers={"Content-Type": "application/json"}
                )
                assert retried.status_code == 200, retried.text
        finally:
            held.close()
    labels = [row[0] for row in query("SELECT labels FROM alerts")]
    stored = sorted((json.loads(x) if isinstance(x, str) else x)["alertname"] for x in labels)
    assert stored == ["Second", "Slow", "Small"]
    assert query("SELECT count(*) FROM deliveries")[0][0] == 3
