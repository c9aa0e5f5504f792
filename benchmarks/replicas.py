"""Ingestion through HAProxy to 1..N `slakeeper serve` replicas on one PostgreSQL database.

For each replica count: a fresh database, N replicas (each `--workers 1`, each with its
scheduler, one of them leading), Debian's haproxy in front (round robin, health checks on
`/readyz`, as docs/scaling.md configures it), then the ingestion benchmark's wrk scenarios
through the balancer. Printed per scenario: alerts/s, latency, and the CPU per alert of the
replicas (all of them), of PostgreSQL and of HAProxy. It measures and prints; it asserts
nothing about timings.

    .venv/bin/python -m benchmarks.replicas --replicas 1,2,3 --scenarios new,batch --duration 10
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness.databases import postgresql_database
from benchmarks.harness.procfs import (
    CLOCK_TICKS,
    postgres_ticks,
    read_all_proc_stats,
    server_ticks,
)
from benchmarks.harness.servers import (
    LOOPBACK,
    Server,
    find_slakeeper,
    free_port,
    http_get,
    running_server,
)
from benchmarks.ingest.options import Options
from benchmarks.ingest.wrk import run_wrk

__all__ = ["main"]

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True, slots=True)
class Row:
    replicas: int
    scenario: str
    alerts_per_s: float
    p99_ms: float
    errors: int
    replicas_us: float
    database_us: float
    balancer_us: float


def _haproxy_config(listen_port: int, ports: Sequence[int]) -> str:
    # The shape of docs/scaling.md's configuration (tested by tests/e2e/test_replicas.py).
    servers = "".join(
        f"    server replica{n} {LOOPBACK}:{port} check\n" for n, port in enumerate(ports, 1)
    )
    return (
        "global\n    nbthread 2\n\ndefaults\n    mode http\n    timeout connect 2s\n"
        "    timeout client 60s\n    timeout server 60s\n    timeout check 2s\n"
        "    retries 3\n    option redispatch 1\n\n"
        f"frontend slakeeper\n    bind {LOOPBACK}:{listen_port}\n"
        "    default_backend replicas\n\n"
        "backend replicas\n    balance roundrobin\n    option httpchk GET /readyz\n"
        "    http-check expect status 200\n    default-server inter 1s fall 2 rise 2\n"
        f"{servers}"
    )


@contextlib.contextmanager
def _balancer(workdir: Path, ports: Sequence[int]) -> Iterator[tuple[int, int]]:
    """HAProxy in the foreground; yields its port and pid once it answers /readyz."""
    binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
    port = free_port()
    config = workdir / "haproxy.cfg"
    config.write_text(_haproxy_config(port, ports))
    process = subprocess.Popen(
        [binary, "-db", "-f", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError):
                if http_get(port, "/readyz", timeout=2.0)[0] == 200:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("haproxy did not answer /readyz")
            time.sleep(0.2)
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(10)


def _measure(
    options: Options, replicas: list[Server], balancer: tuple[int, int], scenario: str
) -> Row:
    port, balancer_pid = balancer
    before = read_all_proc_stats()
    run = run_wrk(options, port, scenario)
    after = read_all_proc_stats()
    result = run.result
    alerts = result.requests * result.alerts_per_request

    def per_alert(ticks: int) -> float:
        return ticks / CLOCK_TICKS * 1e6 / alerts if alerts else 0.0

    pids = [server.process.pid for server in replicas]
    served = sum(server_ticks(pid, after) - server_ticks(pid, before) for pid in pids)
    time.sleep(2)  # let the group commits of the last requests settle
    return Row(
        replicas=len(replicas),
        scenario=scenario,
        alerts_per_s=alerts / (result.duration_us / 1e6),
        p99_ms=result.latency_us["p99"] / 1000,
        errors=sum(result.errors.values()),
        replicas_us=per_alert(served),
        database_us=per_alert(postgres_ticks(after) - postgres_ticks(before)),
        balancer_us=per_alert(
            server_ticks(balancer_pid, after) - server_ticks(balancer_pid, before)
        ),
    )


def _run(options: Options, count: int, workdir: Path) -> list[Row]:
    slakeeper = find_slakeeper()
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(postgresql_database(options.postgres_url, slakeeper))
        servers = [
            stack.enter_context(running_server(slakeeper, url, 1, workdir / f"replica{n}.log"))
            for n in range(count)
        ]
        balancer = stack.enter_context(_balancer(workdir, [s.port for s in servers]))
        return [_measure(options, servers, balancer, scenario) for scenario in options.scenarios]


def _print(rows: Sequence[Row]) -> None:
    print(
        "| replicas | pushes | alerts/s | p99 ms | errors "
        "| replicas CPU µs/alert | PostgreSQL CPU µs/alert | HAProxy CPU µs/alert |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row.replicas} | {row.scenario} | {row.alerts_per_s:,.0f} | {row.p99_ms:.1f} "
            f"| {row.errors} | {row.replicas_us:.0f} | {row.database_us:.0f} "
            f"| {row.balancer_us:.0f} |",
            flush=True,
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.replicas")
    parser.add_argument("--replicas", default="1,2,3", help="replica counts, e.g. 1,2,3")
    parser.add_argument("--scenarios", default="new,batch")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--postgres-url", default=ADMIN_URL)
    args = parser.parse_args(argv)
    options = Options(
        databases=("postgresql",),
        scenarios=tuple(args.scenarios.split(",")),
        duration=args.duration,
        connections=args.connections,
        threads=2,
        workers=1,
        max_requests=0,
        postgres_url=args.postgres_url,
        json_path=None,
    )
    rows: list[Row] = []
    for count in (int(text) for text in args.replicas.split(",")):
        with tempfile.TemporaryDirectory(prefix="slakeeper-replicas-") as workdir:
            found = _run(options, count, Path(workdir))
        _print(found)
        rows.extend(found)
    print("\nAll together:")
    _print(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
