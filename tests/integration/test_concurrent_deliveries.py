"""An HA Alertmanager pair delivers every notification more than once, at the same moment.

Every copy must get a 200 and the database must hold one instance, on both databases, whether
the copies reach one slakeeper process or several processes sharing the database.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from tests.integration.conftest import AppFactory, LiveServer, live_server
from tests.integration.payloads import webhook, webhook_alert, webhook_with

AM = "/api/v1/webhooks/alertmanager"


async def deliver_all(deliveries: Sequence[tuple[str, Any]]) -> list[int]:
    """POST every (url, payload) at once; the status codes, in order."""
    async with httpx.AsyncClient(timeout=30) as client:
        responses = await asyncio.gather(
            *(client.post(url + AM, json=payload) for url, payload in deliveries)
        )
    return [response.status_code for response in responses]


@pytest.fixture
def servers(make_app: AppFactory) -> Iterator[Callable[[int], list[LiveServer]]]:
    """Start n independent slakeeper apps (own engine, own writer) on the same database."""
    with ExitStack() as stack:

        def start(count: int) -> list[LiveServer]:
            return [stack.enter_context(live_server(make_app())) for _ in range(count)]

        yield start


@pytest.mark.parametrize("copies", [2, 4])
def test_copies_sent_to_one_process_all_succeed_and_make_one_instance(
    servers: Callable[[int], list[LiveServer]], query: Callable[[str], list[Any]], copies: int
) -> None:
    [server] = servers(1)
    payload = webhook("webhook_firing_critical.json")
    statuses = asyncio.run(deliver_all([(server.url, payload)] * copies))
    assert statuses == [200] * copies
    assert query("SELECT count(*), sum(receive_count) FROM alerts")[0] == (1, copies)


@pytest.mark.parametrize("copies", [2, 4])
def test_copies_sent_to_separate_processes_all_succeed_and_make_one_instance(
    servers: Callable[[int], list[LiveServer]], query: Callable[[str], list[Any]], copies: int
) -> None:
    running = servers(copies)
    for round_number in range(10):
        payload = webhook_with(
            webhook_alert("HaPair", starts_at=f"2026-11-21T22:{round_number:02d}:00Z")
        )
        statuses = asyncio.run(deliver_all([(server.url, payload) for server in running]))
        assert statuses == [200] * copies
    rows = query("SELECT count(*), min(receive_count), max(receive_count) FROM alerts")
    assert rows[0] == (10, copies, copies)


def test_overlapping_batches_in_different_orders_neither_deadlock_nor_duplicate(
    servers: Callable[[int], list[LiveServer]], query: Callable[[str], list[Any]]
) -> None:
    running = servers(3)
    alerts = [webhook_alert("Overlap", instance=f"host-{i}") for i in range(50)]
    shuffler = random.Random(7)
    for _ in range(5):
        deliveries = []
        for server in running:
            order = list(alerts)
            shuffler.shuffle(order)
            deliveries.append((server.url, webhook_with(*order)))
        assert asyncio.run(deliver_all(deliveries)) == [200] * len(running)
    assert query("SELECT count(*), min(receive_count), max(receive_count) FROM alerts")[0] == (
        50,
        15,
        15,
    )
    assert query("SELECT sum(alert_count) FROM deliveries")[0][0] == 750


def test_firing_and_resolved_racing_end_resolved(
    servers: Callable[[int], list[LiveServer]], query: Callable[[str], list[Any]]
) -> None:
    running = servers(2)
    for minute in range(8):
        start = f"2026-11-21T21:{minute:02d}:00Z"
        firing = webhook_with(webhook_alert("Race", starts_at=start))
        resolved = webhook_with(
            webhook_alert(
                "Race", status="resolved", starts_at=start, ends_at="2026-11-21T22:00:00Z"
            )
        )
        pair = [(running[0].url, firing), (running[1].url, resolved)]
        if minute % 2:
            pair.reverse()
        assert asyncio.run(deliver_all(pair)) == [200, 200]
    rows = query("SELECT status, count(*) FROM alerts GROUP BY status")
    assert [tuple(row) for row in rows] == [("resolved", 8)]
