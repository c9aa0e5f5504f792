"""Ingestion benchmark: load slakeeper's Alertmanager webhook with wrk, per database and scenario.

For each database a fresh server on a fresh database runs every scenario in turn; the
harness reports throughput, latency, errors, CPU and peak memory, and asserts nothing
about them. Run it with `.venv/bin/python benchmarks/ingest.py --help` or `make bench`.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

HERE = Path(__file__).resolve().parent
LUA_SCRIPT = HERE / "ingest.lua"
SCENARIOS = ("new", "dup", "batch", "resolve")
DATABASES = ("sqlite", "postgresql")
LOOPBACK = "127.0.0.1"
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
# Prometheus and Alertmanager ports: a developer may be running them on this machine.
RESERVED_PORTS = frozenset({9090, 9093, 9094})
WEBHOOK_PATH = "/api/v1/webhooks/alertmanager"
WRK_INSTALL_HINT = "apt-get install -y --no-install-recommends wrk"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
IDLE_TIMEOUT_S = 15.0
IDLE_INTERVAL_S = 0.25
# A quarter second with at most this many clock ticks (8 % of a core at 100 Hz) is idle.
IDLE_TICKS = 2
MIB = 1024 * 1024
# ingest.lua spends 3 hex digits of each generated fingerprint on the wrk thread id.
MAX_WRK_THREADS = 0xFFF + 1


class BenchmarkError(Exception):
    """The benchmark cannot go on; the message says why."""


@dataclass(frozen=True, slots=True)
class Options:
    """What to run and how hard."""

    databases: tuple[str, ...]
    scenarios: tuple[str, ...]
    duration: int
    connections: int
    threads: int
    workers: int
    max_requests: int
    postgres_url: str
    json_path: Path | None


@dataclass(frozen=True, slots=True)
class ProcStat:
    """CPU of one process, from /proc/PID/stat, in clock ticks."""

    pid: int
    ppid: int
    comm: str
    ticks: int
    reaped_children_ticks: int


@dataclass(frozen=True, slots=True)
class WrkResult:
    """The `RESULT` line printed by ingest.lua's done()."""

    scenario: str
    requests: int
    duration_us: float
    wrk_duration_us: float
    stopped_by_limit: bool
    alerts_per_request: int
    latency_us: dict[str, float]
    errors: dict[str, int]
    statuses: dict[str, int]
    sample_error: str


@dataclass(frozen=True, slots=True)
class WrkRun:
    """One wrk run: its result and the CPU it used itself."""

    result: WrkResult
    cpu_s: float


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


@dataclass(slots=True)
class Server:
    """A running `slakeeper serve` and where it logs."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    exit_code: int | None = None


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


def _csv(choices: Sequence[str]) -> Callable[[str], tuple[str, ...]]:
    """An argparse type: a comma-separated subset of `choices`, order kept."""

    def parse(text: str) -> tuple[str, ...]:
        items = tuple(item.strip() for item in text.split(",") if item.strip())
        unknown = [item for item in items if item not in choices]
        if unknown or not items:
            raise argparse.ArgumentTypeError(
                f"expected a comma-separated subset of {','.join(choices)}, got {text!r}"
            )
        return tuple(dict.fromkeys(items))

    return parse


def _positive(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer of at least 1, got {text}")
    return value


def parse_options(argv: Sequence[str] | None) -> Options:
    """The command line, checked."""
    parser = argparse.ArgumentParser(
        prog="ingest.py", description="slakeeper ingestion benchmark (wrk + ingest.lua)"
    )
    parser.add_argument(
        "--databases", type=_csv(DATABASES), default=DATABASES, help="default: sqlite,postgresql"
    )
    parser.add_argument(
        "--scenarios", type=_csv(SCENARIOS), default=SCENARIOS, help="default: all, in this order"
    )
    parser.add_argument("--duration", type=_positive, default=10, help="seconds per scenario")
    parser.add_argument("--connections", type=_positive, default=32, help="wrk connections")
    parser.add_argument("--threads", type=_positive, default=2, help="wrk threads")
    parser.add_argument("--workers", type=_positive, default=1, help="slakeeper workers")
    parser.add_argument(
        "--max-requests",
        type=int,
        default=200_000,
        help="responses per wrk thread before it stops (0: no limit)",
    )
    parser.add_argument(
        "--postgres-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="admin URL used to create and drop the benchmark database",
    )
    parser.add_argument("--json", dest="json_path", type=Path, help="also write results here")
    args = parser.parse_args(argv)
    if args.connections < args.threads:
        parser.error("--connections must be at least --threads (wrk needs one per thread)")
    if args.threads > MAX_WRK_THREADS:
        parser.error(f"--threads must be at most {MAX_WRK_THREADS} (ingest.lua's fingerprints)")
    if args.max_requests < 0:
        parser.error("--max-requests must be 0 (no limit) or more")
    if urlsplit(args.postgres_url).hostname not in LOOPBACK_NAMES:
        parser.error("--postgres-url must point at this machine (127.0.0.1)")
    return Options(
        databases=args.databases,
        scenarios=args.scenarios,
        duration=args.duration,
        connections=args.connections,
        threads=args.threads,
        workers=args.workers,
        max_requests=args.max_requests,
        postgres_url=args.postgres_url,
        json_path=args.json_path,
    )


def read_proc_stat(pid: int) -> ProcStat | None:
    """The CPU counters of `pid`, or None if it has exited."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        # It exited between the directory listing and this read.
        return None
    head, _, rest = text.rpartition(")")
    fields = rest.split()
    # fields[0] is stat field 3 (state): ppid is 4, utime..cstime are 14..17.
    return ProcStat(
        pid=pid,
        ppid=int(fields[1]),
        comm=head.partition("(")[2],
        ticks=int(fields[11]) + int(fields[12]),
        reaped_children_ticks=int(fields[13]) + int(fields[14]),
    )


def read_all_proc_stats() -> dict[int, ProcStat]:
    """The CPU counters of every process on the machine."""
    stats: dict[int, ProcStat] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (stat := read_proc_stat(int(entry.name))) is not None:
            stats[stat.pid] = stat
    return stats


def process_tree(root: int, stats: dict[int, ProcStat]) -> set[int]:
    """`root` and all its descendants that are alive in `stats`."""
    children: dict[int, list[int]] = {}
    for stat in stats.values():
        children.setdefault(stat.ppid, []).append(stat.pid)
    found: set[int] = set()
    pending = [root]
    while pending:
        pid = pending.pop()
        if pid in stats and pid not in found:
            found.add(pid)
            pending.extend(children.get(pid, []))
    return found


def _total_ticks(stats: dict[int, ProcStat], pids: set[int]) -> int:
    # Reaped children's CPU moves into their parent's cutime/cstime, so summing both
    # keeps processes that exit during a scenario (worker restarts, backends) counted.
    return sum(stats[pid].ticks + stats[pid].reaped_children_ticks for pid in pids)


def server_ticks(server_pid: int, stats: dict[int, ProcStat]) -> int:
    """CPU ticks of the server: the uvicorn parent and all its workers."""
    return _total_ticks(stats, process_tree(server_pid, stats))


def postgres_ticks(stats: dict[int, ProcStat]) -> int:
    """CPU ticks of every `postgres` process (postmaster, backends, WAL writer, ...)."""
    return _total_ticks(stats, {pid for pid, stat in stats.items() if stat.comm == "postgres"})


def reset_peak_rss(pids: set[int]) -> bool:
    """Reset VmHWM of `pids` so that the next read is this scenario's peak."""
    for pid in pids:
        try:
            # "5" resets the peak RSS (Documentation/filesystems/proc.rst, clear_refs).
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        except (FileNotFoundError, ProcessLookupError):
            continue  # it exited: nothing to reset
        except PermissionError:
            return False
    return True


def peak_rss_mib(pids: set[int]) -> float:
    """Sum of VmHWM over `pids`, in MiB."""
    total_kib = 0
    for pid in pids:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total_kib += int(line.split()[1])
    return total_kib * 1024 / MIB


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((LOOPBACK, 0))
            port = int(probe.getsockname()[1])
        if port not in RESERVED_PORTS:
            return port


def http_get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """GET `path` from 127.0.0.1:`port` (never through a proxy)."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def log_tail(path: Path, lines: int = 20) -> str:
    """The last `lines` lines of a log file."""
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def find_slakeeper() -> Path:
    """The `slakeeper` script next to this interpreter (the project's venv), or on PATH."""
    beside = Path(sys.executable).parent / "slakeeper"
    if beside.is_file():
        return beside
    found = shutil.which("slakeeper")
    if found is None:
        raise BenchmarkError("cannot find the slakeeper command: run with .venv/bin/python")
    return Path(found)


@contextlib.contextmanager
def sqlite_database(workdir: Path) -> Iterator[str]:
    """A fresh SQLite file URL; serve creates and migrates it."""
    directory = Path(tempfile.mkdtemp(prefix="sqlite-", dir=workdir))
    try:
        yield f"sqlite:///{directory / 'slakeeper-bench.db'}"
    finally:
        shutil.rmtree(directory)


def _with_database(url: str, name: str) -> str:
    """`url` pointing at database `name` instead."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _admin_execute(admin_url: str, statement: sql.Composed) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE need that)."""
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
            admin.execute(statement)
    except psycopg.Error as error:
        raise BenchmarkError(f"PostgreSQL at {admin_url}: {error}".strip()) from error


def migrate(slakeeper: Path, url: str) -> None:
    """`slakeeper db upgrade` on `url`."""
    command = [str(slakeeper), "db", "upgrade", "--database-url", url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise BenchmarkError(f"slakeeper db upgrade failed:\n{done.stderr.strip()}")


@contextlib.contextmanager
def postgresql_database(admin_url: str, slakeeper: Path) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database, dropped afterwards."""
    name = f"slakeeper_bench_{os.getpid()}_{secrets.token_hex(3)}"
    _admin_execute(admin_url, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = _with_database(admin_url, name)
        migrate(slakeeper, url)
        yield url
    finally:
        _admin_execute(
            admin_url,
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)),
        )


def wait_until_ready(server: Server) -> None:
    """Poll GET /readyz until it answers 200; fail if the server dies or takes too long."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        code = server.process.poll()
        if code is not None:
            raise BenchmarkError(
                f"server exited with {code} before it was ready:\n{log_tail(server.log_path)}"
            )
        with contextlib.suppress(OSError, http.client.HTTPException):
            # Refused or reset: uvicorn is not listening yet.
            if http_get(server.port, "/readyz", timeout=2.0)[0] == 200:
                return
        if time.monotonic() > deadline:
            raise BenchmarkError(
                f"server not ready after {READY_TIMEOUT_S:.0f} s:\n{log_tail(server.log_path)}"
            )
        time.sleep(0.1)


def stop_server(server: Server) -> None:
    """SIGTERM, wait for the graceful shutdown, SIGKILL the group if it hangs."""
    process = server.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            print(f"server did not stop in {STOP_TIMEOUT_S:.0f} s: killing it", file=sys.stderr)
            process.kill()
            process.wait()
    server.exit_code = process.returncode
    # The server leads its own process group: take any worker it left behind.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@contextlib.contextmanager
def running_server(
    slakeeper: Path, database_url: str, workers: int, log_path: Path
) -> Iterator[Server]:
    """A ready `slakeeper serve` on a free loopback port, stopped afterwards."""
    port = free_port()
    command = [str(slakeeper), "serve", "--host", LOOPBACK, "--port", str(port)]
    command += ["--database-url", database_url, "--workers", str(workers)]
    command += ["--log-level", "warning"]
    with log_path.open("wb") as log:
        # Own session: a terminal's Ctrl-C reaches only us, and we stop the server in order.
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        server = Server(process=process, port=port, log_path=log_path)
        try:
            wait_until_ready(server)
            yield server
        finally:
            stop_server(server)


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


def _int_map(value: Any) -> dict[str, int]:
    """A JSON object of counts, typed."""
    if not isinstance(value, dict):
        return {}
    return {str(key): int(count) for key, count in value.items()}


def parse_wrk_result(stdout: str) -> WrkResult:
    """The `RESULT {...}` line of ingest.lua's done()."""
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            data = json.loads(line.removeprefix("RESULT "))
            break
    else:
        raise BenchmarkError(f"wrk printed no RESULT line:\n{stdout.strip()}")
    return WrkResult(
        scenario=str(data["scenario"]),
        requests=int(data["requests"]),
        duration_us=float(data["duration_us"]),
        wrk_duration_us=float(data["wrk_duration_us"]),
        stopped_by_limit=bool(data["stopped_by_limit"]),
        alerts_per_request=int(data["alerts_per_request"]),
        latency_us={str(k): float(v) for k, v in data["latency_us"].items()},
        errors=_int_map(data["errors"]),
        statuses=_int_map(data["statuses"]),
        sample_error=str(data["sample_error"]),
    )


def _read(handle: IO[bytes]) -> str:
    """All of a temporary file written by a child."""
    handle.seek(0)
    return handle.read().decode(errors="replace")


def run_wrk(options: Options, port: int, scenario: str) -> WrkRun:
    """Run wrk for one scenario; its CPU comes from wait4's rusage."""
    command = ["wrk", "-t", str(options.threads), "-c", str(options.connections)]
    command += ["-d", f"{options.duration}s", "--timeout", "10s", "-s", str(LUA_SCRIPT)]
    command += [f"http://{LOOPBACK}:{port}{WEBHOOK_PATH}", "--", scenario]
    command += [str(options.max_requests)]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        try:
            # wait4 reaps wrk and hands back its own rusage (not that of other children).
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
        finally:
            if process.returncode is None:
                process.kill()
                process.wait()
        stdout, stderr = _read(out), _read(err)
    if process.returncode != 0:
        raise BenchmarkError(f"wrk exited with {process.returncode}:\n{stderr}{stdout}")
    return WrkRun(result=parse_wrk_result(stdout), cpu_s=usage.ru_utime + usage.ru_stime)


def new_log_lines(path: Path, offset: int) -> list[str]:
    """Non-blank lines the server logged after byte `offset`."""
    with path.open("rb") as log:
        log.seek(offset)
        text = log.read().decode(errors="replace")
    return [line.strip() for line in text.splitlines() if line.strip()]


def measure_scenario(options: Options, server: Server, database: str, scenario: str) -> Figures:
    """Run one scenario and measure the server, the database and wrk while it runs."""
    rss_scope = "scenario" if reset_peak_rss(server_pids(server)) else "since start"
    log_offset = server.log_path.stat().st_size
    before, started = read_all_proc_stats(), time.monotonic()
    run = run_wrk(options, server.port, scenario)
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
        server = stack.enter_context(running_server(slakeeper, url, options.workers, log_path))
        figures = []
        for scenario in options.scenarios:
            print(f"  {database}: {scenario} ...", flush=True)
            figures.append(measure_scenario(options, server, database, scenario))
        checks = sanity_checks(server.port, options.scenarios)
    return DatabaseRun(
        database=database, figures=figures, checks=checks, server_exit_code=server.exit_code
    )


def usable_cores() -> int:
    """CPUs this process may run on (what `nproc` prints)."""
    return len(os.sched_getaffinity(0))


def cpu_model() -> str:
    """The CPU's model name, from /proc/cpuinfo."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or "unknown CPU"


def header_line(options: Options) -> str:
    """One line saying where and how the figures were measured."""
    limit = f"<= {options.max_requests} requests/thread" if options.max_requests else "no limit"
    return (
        f"slakeeper ingestion benchmark {datetime.now(UTC):%Y-%m-%d %H:%M}Z | machine: "
        f"{usable_cores()} cores ({cpu_model()}), Linux {platform.release()} | wrk: "
        f"{options.threads} threads, {options.connections} connections, {options.duration} s "
        f"per scenario ({limit}) | slakeeper: {options.workers} worker(s)"
    )


def _cpu_cell(seconds: float | None, duration_s: float) -> str:
    """CPU seconds and % of one core over the loaded part of the scenario."""
    if seconds is None:
        return "n/a"
    return f"{seconds:.1f}s {100 * seconds / duration_s:.0f}%"


def table_rows(figures: Sequence[Figures]) -> list[list[str]]:
    """The printed table: a header row, then one row per scenario."""
    rows = [
        [
            "scenario",
            "requests",
            "alerts/s",
            "req/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
            "errors",
            "server CPU",
            "db CPU",
            "wrk CPU",
            "srv RSS MiB",
        ]
    ]
    for item in figures:
        rows.append(
            [
                item.scenario + ("*" if item.stopped_by_limit else ""),
                f"{item.requests:,}",
                f"{item.alerts_per_s:,.0f}",
                f"{item.requests_per_s:,.0f}",
                f"{item.p50_ms:.1f}",
                f"{item.p95_ms:.1f}",
                f"{item.p99_ms:.1f}",
                f"{item.max_ms:.1f}",
                f"{item.errors:,}",
                _cpu_cell(item.server_cpu_s, item.duration_s),
                _cpu_cell(item.db_cpu_s, item.duration_s),
                _cpu_cell(item.wrk_cpu_s, item.duration_s),
                f"{item.server_peak_rss_mib:.0f}",
            ]
        )
    return rows


def format_table(rows: list[list[str]]) -> str:
    """Left-aligned first column, right-aligned numbers."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [
            cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells))
    return "\n".join(lines)


def notes(figures: Sequence[Figures]) -> list[str]:
    """Error breakdowns, server log lines and other things a reader should see."""
    lines = []
    for item in figures:
        if item.errors:
            breakdown = ", ".join(f"{k} {v}" for k, v in item.error_breakdown.items() if v)
            statuses = ", ".join(f"{k}: {v}" for k, v in sorted(item.statuses.items()))
            lines.append(f"{item.scenario}: errors ({breakdown}); statuses {statuses}")
            if item.sample_error:
                lines.append(f"{item.scenario}: first error response: {item.sample_error}")
        if item.server_log:
            lines.append(f"{item.scenario}: server logged {len(item.server_log)} line(s), e.g.:")
            distinct = list(dict.fromkeys(item.server_log))[:5]
            lines.extend(f"    {line[:200]}" for line in distinct)
    return lines[:40]


def describe_exit(code: int | None) -> str:
    """How the server ended, in words."""
    if code == -signal.SIGTERM:
        # uvicorn re-raises the SIGTERM it caught once its graceful shutdown is over.
        return "graceful shutdown on SIGTERM"
    if code is not None and code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


def report(run: DatabaseRun) -> None:
    """Print one database's table, notes and checks."""
    print(f"\n== {run.database} ==")
    print(format_table(table_rows(run.figures)))
    scopes = {item.rss_scope for item in run.figures}
    legend = (
        "CPU: seconds and % of one core during the scenario; srv RSS: peak "
        f"({', '.join(sorted(scopes))}); * = stopped at --max-requests"
    )
    print(legend)
    for line in notes(run.figures):
        print(line)
    for check in run.checks:
        print(f"sanity {'ok' if check.ok else 'FAILED'}: {check.text}")
    print(f"server stopped: {describe_exit(run.server_exit_code)}")


def write_json(path: Path, options: Options, runs: Sequence[DatabaseRun]) -> None:
    """Write every figure, the options and the machine to `path`."""
    document = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cores": usable_cores(), "cpu": cpu_model(), "kernel": platform.release()},
        "options": {k: v for k, v in asdict(options).items() if k != "json_path"},
        "runs": [asdict(run) for run in runs],
    }
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")


def run_all(options: Options, slakeeper: Path) -> list[DatabaseRun]:
    """Every database in turn, each reported as soon as it is done."""
    runs: list[DatabaseRun] = []
    with tempfile.TemporaryDirectory(prefix="slakeeper-bench-") as workdir:
        for database in options.databases:
            run = benchmark_database(options, database, Path(workdir), slakeeper)
            report(run)
            runs.append(run)
    return runs


def _interrupt(signum: int, _frame: object) -> None:
    """Turn SIGTERM into KeyboardInterrupt, so that the cleanup of Ctrl-C runs too."""
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: 0 when every sanity check passed, 1 otherwise, 2 on bad setup."""
    options = parse_options(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    if shutil.which("wrk") is None:
        print(
            f"ingest.py: wrk is not installed; install it with: {WRK_INSTALL_HINT}", file=sys.stderr
        )
        return 2
    try:
        slakeeper = find_slakeeper()
        print(header_line(options), flush=True)
        runs = run_all(options, slakeeper)
    except BenchmarkError as error:
        print(f"ingest.py: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ingest.py: interrupted (servers stopped, databases dropped)", file=sys.stderr)
        return 130
    if options.json_path is not None:
        write_json(options.json_path, options, runs)
        print(f"\nresults written to {options.json_path}")
    return 0 if all(check.ok for run in runs for check in run.checks) else 1


if __name__ == "__main__":
    sys.exit(main())
