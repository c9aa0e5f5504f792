"""One scenario against one server, measured: wrk's figures, CPU, peak memory, the log."""

from __future__ import annotations

import contextlib
import json
import secrets
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.harness.databases import postgresql_database, sqlite_database
from benchmarks.harness.procfs import (
    CLOCK_TICKS,
    peak_rss_mib,
    postgres_ticks,
    process_tree,
    read_all_proc_stats,
    reset_peak_rss,
    server_ticks,
)
from benchmarks.harness.servers import Server, http_get, running_server
from benchmarks.ingest.options import Options
from benchmarks.ingest.wrk import run_wrk

__all__ = ["Check", "DatabaseRun", "Figures", "benchmark_database", "measure_scenario"]


IDLE_TIMEOUT_S = 15.0
IDLE_INTERVAL_S = 0.25
# A quarter second with at most this many clock ticks (8 % of a core at 100 Hz) is idle.
IDLE_TICKS = 2


@dataclass(frozen=True, slots=True)
class Figures:
    """Everything measured during one scenario against one database."""

    database: str
    scenario: str
    requests: int
    duration_s: float
    alerts_per_request: int
    alerts_per_s: float
    requests_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    error_breakdown: dict[str, int]
    statuses: dict[str, int]
    sample_error: str
    stopped_by_limit: bool
    cpu_window_s: float
    server_cpu_s: float
    db_cpu_s: float | None
    wrk_cpu_s: float
    server_peak_rss_mib: float
    rss_scope: str
    server_log: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Check:
    """One sanity check of what the server stored."""

    ok: bool
    text: str


@dataclass(frozen=True, slots=True)
class DatabaseRun:
    """The figures and checks of one database."""

    database: str
    figures: list[Figures]
    checks: list[Check]
    server_exit_code: int | None


def server_pids(server: Server) -> set[int]:
    """The server's live processes."""
    return process_tree(server.process.pid, read_all_proc_stats())


def wait_until_idle(server: Server) -> bool:
    """Wait until the server stops burning CPU (in-flight work of the last scenario is done)."""
    deadline = time.monotonic() + IDLE_TIMEOUT_S
    previous = server_ticks(server.process.pid, read_all_proc_stats())
    while time.monotonic() < deadline:
        time.sleep(IDLE_INTERVAL_S)
        current = server_ticks(server.process.pid, read_all_proc_stats())
        if current - previous <= IDLE_TICKS:
            return True
        previous = current
    return False


def new_log_lines(path: Path, offset: int) -> list[str]:
    """Non-blank lines the server logged after byte `offset`."""
    with path.open("rb") as log:
        log.seek(offset)
        text = log.read().decode(errors="replace")
    return [line.strip() for line in text.splitlines() if line.strip()]


def measure_scenario(
    options: Options, server: Server, database: str, scenario: str, token: str | None = None
) -> Figures:
    """Run one scenario and measure the server, the database and wrk while it runs."""
    rss_scope = "scenario" if reset_peak_rss(server_pids(server)) else "since start"
    log_offset = server.log_path.stat().st_size
    before, started = read_all_proc_stats(), time.monotonic()
    run = run_wrk(options, server.port, scenario, token)
    after, window_s = read_all_proc_stats(), time.monotonic() - started
    rss = peak_rss_mib(process_tree(server.process.pid, after))
    pid = server.process.pid
    server_cpu = (server_ticks(pid, after) - server_ticks(pid, before)) / CLOCK_TICKS
    db_cpu = None
    if database == "postgresql":
        db_cpu = (postgres_ticks(after) - postgres_ticks(before)) / CLOCK_TICKS
    if not wait_until_idle(server):
        print(f"  note: server still busy {IDLE_TIMEOUT_S:.0f} s after {scenario} ended")
    result = run.result
    duration_s = result.duration_us / 1e6
    latency = result.latency_us
    return Figures(
        database=database,
        scenario=scenario,
        requests=result.requests,
        duration_s=duration_s,
        alerts_per_request=result.alerts_per_request,
        alerts_per_s=result.requests * result.alerts_per_request / duration_s,
        requests_per_s=result.requests / duration_s,
        p50_ms=latency["p50"] / 1000,
        p95_ms=latency["p95"] / 1000,
        p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000,
        errors=sum(result.errors.values()),
        error_breakdown=result.errors,
        statuses=result.statuses,
        sample_error=result.sample_error,
        stopped_by_limit=result.stopped_by_limit,
        cpu_window_s=window_s,
        server_cpu_s=server_cpu,
        db_cpu_s=db_cpu,
        wrk_cpu_s=run.cpu_s,
        server_peak_rss_mib=rss,
        rss_scope=rss_scope,
        server_log=new_log_lines(server.log_path, log_offset),
    )


def sanity_checks(port: int, scenarios: Sequence[str]) -> list[Check]:
    """Did the server store alerts? (and resolve them, when `resolve` ran)."""
    paths = ["/api/v1/alerts?limit=1"]
    if "resolve" in scenarios:
        paths.append("/api/v1/alerts?limit=1&status=resolved")
    checks = []
    for path in paths:
        status, body = http_get(port, path, timeout=30.0)
        items = json.loads(body).get("items", []) if status == 200 else []
        ok = status == 200 and len(items) >= 1
        newest = f", newest fingerprint {items[0].get('fingerprint')}" if items else ""
        text = f"GET {path} -> {status}, {len(items)} item(s){newest}"
        checks.append(Check(ok=ok, text=text))
    return checks


def ingest_credential(auth: str, slakeeper: Path, url: str) -> tuple[str | None, dict[str, str]]:
    """The token the pushes carry for `auth`, and what the server's environment needs."""
    if auth == "none":
        return None, {}
    if auth == "configured":
        token = "bench-ingest-" + secrets.token_hex(16)
        return token, {"SLAKEEPER_INGEST_TOKENS": token}
    base = [str(slakeeper)]
    subprocess.run(
        [*base, "users", "add", "bench-alertmanager", "--service", "--may-ingest"]
        + ["--database-url", url],
        check=True,
        capture_output=True,
    )
    issued = subprocess.run(
        [*base, "tokens", "create", "--user", "bench-alertmanager", "--name", "bench"]
        + ["--database-url", url],
        check=True,
        capture_output=True,
        text=True,
    )
    return issued.stdout.strip(), {}


def benchmark_database(
    options: Options, database: str, workdir: Path, slakeeper: Path
) -> DatabaseRun:
    """One fresh database and server; every scenario in turn; the sanity checks."""
    with contextlib.ExitStack() as stack:
        if database == "sqlite":
            url = stack.enter_context(sqlite_database(workdir))
        else:
            url = stack.enter_context(postgresql_database(options.postgres_url, slakeeper))
        log_path = workdir / f"{database}-server.log"
        token, env = ingest_credential(options.auth, slakeeper, url)
        server = stack.enter_context(running_server(slakeeper, url, options.workers, log_path, env))
        figures = []
        for scenario in options.scenarios:
            print(f"  {database}: {scenario} ...", flush=True)
            figures.append(measure_scenario(options, server, database, scenario, token))
        checks = sanity_checks(server.port, options.scenarios)
    return DatabaseRun(
        database=database, figures=figures, checks=checks, server_exit_code=server.exit_code
    )
