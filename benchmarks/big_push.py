"""Big-push benchmark: one webhook of N new groups, and the small pushes that arrive meanwhile.

For each database, a fresh `slakeeper serve` on a fresh database receives one Alertmanager
webhook of `--groups` alerts, each of its own group (so each opens an incident), while a
second client sends a one-alert push every `--interval-ms` and times its answer. Prints the big
push's time, the small pushes' latencies while it ran, and whether the server logged "database
is locked"; asserts nothing about timings. Run: `.venv/bin/python -m benchmarks.big_push`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from benchmarks.harness import BenchmarkError
from benchmarks.harness.databases import postgresql_database, sqlite_database
from benchmarks.harness.servers import LOOPBACK, WEBHOOK_PATH, find_slakeeper, running_server
from benchmarks.harness.stats import percentile


def alert(name: str, service: str) -> dict[str, Any]:
    return {
        "status": "firing",
        "labels": {"alertname": name, "service": service, "severity": "critical"},
        "annotations": {"summary": f"{name} on {service}"},
        "startsAt": "2026-11-21T22:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.local/graph",
    }


def webhook(alerts: list[dict[str, Any]], group: str) -> bytes:
    return json.dumps(
        {
            "version": "4",
            "status": "firing",
            "receiver": "slakeeper",
            "groupKey": group,
            "externalURL": "http://alertmanager.local",
            "truncatedAlerts": 0,
            "groupLabels": {},
            "commonLabels": {},
            "commonAnnotations": {},
            "alerts": alerts,
        }
    ).encode()


def post(port: int, body: bytes, timeout: float = 300.0) -> tuple[int, float]:
    started = time.perf_counter()
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        connection.request("POST", WEBHOOK_PATH, body, {"Content-Type": "application/json"})
        status = connection.getresponse().status
    finally:
        connection.close()
    return status, time.perf_counter() - started


def latencies(values: list[float]) -> str:
    return (
        f"median {statistics.median(values) * 1e3:.0f} ms, "
        f"p99 {percentile(values, 0.99) * 1e3:.0f} ms, max {max(values) * 1e3:.0f} ms"
    )


def run(database: str, url: str, groups: int, interval: float, log: Path) -> None:
    slakeeper = find_slakeeper()
    with running_server(slakeeper, url, 1, log) as server:
        # Warm the server up: the first push pays for imports and connections.
        post(server.port, webhook([alert("Warmup", "warmup")], "{}:{warm}"))
        small: list[tuple[float, int, float]] = []  # (sent at, status, seconds)
        stop = threading.Event()

        def small_pushes() -> None:
            n = 0
            while not stop.is_set():
                n += 1
                sent = time.perf_counter()
                status, took = post(server.port, webhook([alert(f"Small{n}", "small")], "{}:{s}"))
                small.append((sent, status, took))
                stop.wait(max(0.0, interval - took))

        big = webhook([alert(f"Big{n}", f"svc-{n % 500}") for n in range(groups)], "{}:{big}")
        sender = threading.Thread(target=small_pushes, daemon=True)
        sender.start()
        time.sleep(1.0)  # small pushes before, for a baseline
        big_started = time.perf_counter()
        status, big_seconds = post(server.port, big)
        big_ended = time.perf_counter()
        time.sleep(0.5)
        stop.set()
        sender.join(30)
    during = [took for sent, _, took in small if big_started <= sent <= big_ended]
    before = [took for sent, _, took in small if sent < big_started]
    failed = sum(1 for _, code, _ in small if code != 200)
    locked = "database is locked" in log.read_text(errors="replace")
    print(f"\n{database}: one push of {groups} new groups ({len(big) / 1e6:.1f} MB)")
    print(f"  big push: HTTP {status} in {big_seconds:.2f} s")
    if before:
        print(f"  small pushes before it: {len(before)}, {latencies(before)}")
    if during:
        print(f"  small pushes during it: {len(during)}, {latencies(during)}")
    else:
        print("  small pushes during it: none sent (the big push ended first)")
    print(f"  small pushes not answered 200: {failed}; 'database is locked' in the log: {locked}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=3000)
    parser.add_argument("--interval-ms", type=float, default=50.0)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument(
        "--postgres-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres"
    )
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="slakeeper-big-push-") as work:
        workdir = Path(work)
        for database in options.databases.split(","):
            context: AbstractContextManager[str] = (
                sqlite_database(workdir)
                if database == "sqlite"
                else postgresql_database(options.postgres_admin_url, find_slakeeper())
            )
            with context as url:
                run(database, url, options.groups, options.interval_ms / 1e3, workdir / "log")


if __name__ == "__main__":
    try:
        main()
    except BenchmarkError as error:
        sys.exit(f"big_push: {error}")
