"""Memory benchmark: the server's RSS before, during and after concurrent large pushes.

A fresh `slakeeper serve` on a fresh SQLite database receives `--pushes` Alertmanager webhooks
of about `--megabytes` MB each, all at once; a push answered 503 is sent again after its
Retry-After, as Alertmanager does. The RSS of the server is sampled every 50 ms. Run once with
the default ceiling on bytes in flight and once with `--max-inflight-mib` large enough to admit
everything, to see what the ceiling holds back. Prints; asserts nothing about memory or time.
Run: `.venv/bin/python -m benchmarks.memory`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import BenchmarkError
from benchmarks.harness.procfs import MIB, rss_mib
from benchmarks.harness.servers import (
    LOOPBACK,
    WEBHOOK_PATH,
    Server,
    find_slakeeper,
    free_port,
    stop_server,
    wait_until_ready,
)


def push_body(index: int, megabytes: float) -> bytes:
    """About `megabytes` of many small alerts, as a large Alertmanager group looks."""
    alert: dict[str, Any] = {
        "status": "firing",
        "labels": {
            "alertname": f"Big{index}",
            "service": "payments",
            "severity": "warning",
            "job": "node",
            "team": "storage",
            "region": "eu-west-1",
        },
        "annotations": {"summary": "disk almost full", "runbook": "https://runbooks.local/disk"},
        "startsAt": "2026-11-21T22:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.local/graph?g0.expr=disk",
    }
    alert_count = int(megabytes * 1e6 / (len(json.dumps(alert)) + 40))
    alerts: list[dict[str, Any]] = [
        {**alert, "labels": {**alert["labels"], "instance": f"host-{n}:9100"}}
        for n in range(alert_count)
    ]
    return json.dumps(
        {"version": "4", "status": "firing", "receiver": "slakeeper", "alerts": alerts}
    ).encode()


def send_until_stored(port: int, body: bytes, outcome: dict[str, int]) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection(LOOPBACK, port, timeout=300)
        try:
            connection.request("POST", WEBHOOK_PATH, body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            status, retry = response.status, response.getheader("Retry-After")
        finally:
            connection.close()
        outcome[str(status)] = outcome.get(str(status), 0) + 1
        if status != 503:
            return
        time.sleep(float(retry or 2))


def run(pushes: int, megabytes: float, max_inflight_mib: int | None, workdir: Path) -> None:
    port = free_port()
    url = f"sqlite:///{workdir / f'memory-{max_inflight_mib}.db'}"
    env = {**os.environ, "SLAKEEPER_DATABASE_URL": url}
    if max_inflight_mib is not None:
        env["SLAKEEPER_MAX_INFLIGHT_BYTES"] = str(max_inflight_mib * MIB)
    command = [str(find_slakeeper()), "serve", "--host", LOOPBACK, "--port", str(port)]
    command += ["--log-level", "warning"]
    log_path = workdir / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        server = Server(process=process, port=port, log_path=log_path)
        try:
            wait_until_ready(server)
            bodies = [push_body(n, megabytes) for n in range(pushes)]
            time.sleep(1.0)
            before = rss_mib(process.pid)
            samples: list[float] = []
            done = threading.Event()

            def sample() -> None:
                while not done.is_set():
                    samples.append(rss_mib(process.pid))
                    done.wait(0.05)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            outcome: dict[str, int] = {}
            started = time.perf_counter()
            senders = [
                threading.Thread(target=send_until_stored, args=(port, body, outcome))
                for body in bodies
            ]
            for sender in senders:
                sender.start()
            for sender in senders:
                sender.join()
            took = time.perf_counter() - started
            time.sleep(5.0)
            done.set()
            sampler.join()
            after = rss_mib(process.pid)
        finally:
            stop_server(server)
    ceiling = "default (32 MiB)" if max_inflight_mib is None else f"{max_inflight_mib} MiB"
    size = len(bodies[0]) / 1e6
    print(f"\nmax_inflight_bytes {ceiling}: {pushes} concurrent pushes of {size:.1f} MB")
    peak = max(samples)
    print(f"  RSS before {before:.0f} MiB, peak during {peak:.0f} MiB, 5 s after {after:.0f} MiB")
    print(f"  answers: {dict(sorted(outcome.items()))}; all stored after {took:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pushes", type=int, default=12)
    parser.add_argument("--megabytes", type=float, default=6.6)
    parser.add_argument(
        "--max-inflight-mib",
        type=int,
        action="append",
        help="ceilings to compare (default: the default, then 1024)",
    )
    options = parser.parse_args()
    ceilings: list[int | None] = options.max_inflight_mib or [None, 1024]
    with tempfile.TemporaryDirectory(prefix="slakeeper-memory-") as work:
        for ceiling in ceilings:
            run(options.pushes, options.megabytes, ceiling, Path(work))


if __name__ == "__main__":
    try:
        main()
    except BenchmarkError as error:
        sys.exit(f"memory: {error}")
