"""RSS soak: a real `slakeeper serve` under mixed traffic for a long time, its memory sampled.

A fresh database (PostgreSQL or SQLite) with a rule file of eight services, an operator who
signs in to the console and reads the API with a token, and Alertmanager's service account.
Then, on loopback, at a bounded rate until `--minutes` have passed (`soak_traffic`):
Alertmanager webhooks (new groups whose instance and pod values are never seen before,
repeats, resolutions, so incidents open, flap and resolve; a group of `--big-size` alerts
firing and resolving every `--big-every` seconds), API reads (alert and incident lists with
filters, incident details, services, a service's availability, the month's report as JSON and
CSV) and a few acknowledgements and notes, a browser polling the console's queue and opening
pages (signing in again every 5 minutes, in the other language), and a `/metrics` scrape
every 15 s as Prometheus would.

Every `--sample-seconds` the resident memory (VmRSS) of every process of the server (the
supervisor and its workers, with `--workers` > 1) is read from /proc. Warm-up ends at the
first sample taken `--warmup-minutes` after the start once every route has answered
successfully. Prints the curve as it goes, then the samples every 5 minutes and the growth
from start and from the end of warm-up to the end. A large push costs tens of MiB for a few
seconds, so a single sample may catch one: the level after warm-up is the median of the
samples of the `--level-minutes` after it, the level at the end the median of the last
`--level-minutes`; start is the sample before any traffic. Measures and prints; asserts
nothing. `--summarise LOG` prints the same summary from the curve a soak printed.

Run: `.venv/bin/python -m benchmarks.soak --minutes 60 --database postgresql`.
`--trace DIR` runs the server under tracemalloc (`soak_trace`), one worker, for diagnosis.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from access.accounts import NewAccount, create_account
from access.roles import Kind, Role
from access.tokens import issue_token
from benchmarks.harness import BenchmarkError
from benchmarks.harness.databases import migrate, postgresql_database, sqlite_database
from benchmarks.harness.procfs import process_tree, read_all_proc_stats, rss_mib
from benchmarks.harness.servers import (
    LOOPBACK,
    Server,
    find_slakeeper,
    free_port,
    log_tail,
    stop_server,
    wait_until_ready,
)
from benchmarks.soak_traffic import SERVICES, Tally, Traffic
from core.database import create_database_engine, writing_session
from rules.loader import DEFAULT_RULES

PASSWORD = "soak soak soak soak"
# Routes that must have answered (2xx or 3xx) before warm-up can end.
WARMUP_ROUTES = frozenset(
    {
        "webhook",
        "webhook (large)",
        "alerts",
        "incidents",
        "incident",
        "services",
        "availability",
        "report",
        "report csv",
        "incident notes",
        "console login",
        "console /",
        "console queue",
        "console services",
        "console service",
        "console incident",
        "metrics",
    }
)
Sample = tuple[float, dict[int, float]]
CURVE_LINE = re.compile(r"^\s*([\d.]+) min\s+([\d.]+) MiB")


def rule_file(directory: Path) -> Path:
    """The shipped rule file with eight services, each matched by its `service` label."""
    services = "".join(
        f"\n  - {{name: {name}, matchers: ['service=\"{name}\"'], target: 99.9}}"
        for name in SERVICES
    )
    text = DEFAULT_RULES.read_text().replace("services: []", "services:" + services, 1)
    path = directory / "soak-rules.yaml"
    path.write_text(text)
    return path


def accounts(url: str) -> tuple[str, str]:
    """An operator with a password and a token, and Alertmanager's ingest account: tokens."""
    now = datetime.now(UTC)
    engine = create_database_engine(url)
    made: list[str] = []
    try:
        with writing_session(engine) as session:
            for new in (
                NewAccount("ana", Kind.PERSON, Role.OPERATOR, password=PASSWORD),
                NewAccount("alertmanager", Kind.SERVICE, None, may_ingest=True),
            ):
                account = create_account(session, new, by="soak", now=now)
                _, text = issue_token(
                    session, account, name="soak", scope=None, expires_at=None, by="soak", now=now
                )
                made.append(text)
    finally:
        engine.dispose()
    return made[0], made[1]


@contextlib.contextmanager
def fresh_database(kind: str, admin_url: str, workdir: Path) -> Iterator[str]:
    """A fresh, migrated database of `kind`, gone afterwards."""
    slakeeper = find_slakeeper()
    if kind == "postgresql":
        with postgresql_database(admin_url, slakeeper) as url:
            yield url
        return
    with sqlite_database(workdir) as url:
        migrate(slakeeper, url)
        yield url


@contextlib.contextmanager
def soak_server(
    url: str, rules: Path, options: argparse.Namespace, workdir: Path
) -> Iterator[Server]:
    """`slakeeper serve` on a free loopback port (under tracemalloc with `--trace`)."""
    port = free_port()
    arguments = ["serve", "--host", LOOPBACK, "--port", str(port), "--database-url", url]
    arguments += ["--workers", str(options.workers), "--log-level", "warning"]
    if options.trace:
        command = [sys.executable, "-m", "benchmarks.soak_trace", "serve", str(options.trace)]
        command += [str(options.trace_seconds), "--", *arguments]
    else:
        command = [str(find_slakeeper()), *arguments]
    env = {**os.environ, "SLAKEEPER_RULES": str(rules)}
    log_path = workdir / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
        server = Server(process=process, port=port, log_path=log_path)
        try:
            wait_until_ready(server)
            yield server
        finally:
            stop_server(server)


def server_rss(pid: int) -> dict[int, float]:
    """VmRSS of the server and every process under it, in MiB, by pid."""
    found: dict[int, float] = {}
    for member in sorted(process_tree(pid, read_all_proc_stats())):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            found[member] = rss_mib(member)
    return found


def _line(elapsed: float, rss: dict[int, float], root: int) -> str:
    total = sum(rss.values())
    parts = ", ".join(
        f"{'supervisor' if pid == root else pid} {mib:.1f}" for pid, mib in rss.items()
    )
    return f"{elapsed / 60:6.1f} min  {total:7.1f} MiB" + (f"  ({parts})" if len(rss) > 1 else "")


def soak(server: Server, traffic: Traffic, options: argparse.Namespace) -> tuple[list[Sample], int]:
    """Run the traffic for `--minutes`, sampling the server; the samples and the warm index."""
    pid, started = server.process.pid, time.monotonic()
    samples: list[Sample] = [(0.0, server_rss(pid))]
    print(_line(*samples[0], pid) + "  (start, before any traffic)", flush=True)
    threads = traffic.threads()
    for thread in threads:
        thread.start()
    warm = -1
    end = started + options.minutes * 60
    while (now := time.monotonic()) < end and server.process.poll() is None:
        traffic.stop.wait(min(options.sample_seconds, end - now))
        samples.append((time.monotonic() - started, server_rss(pid)))
        note = ""
        if (
            warm < 0
            and samples[-1][0] >= options.warmup_minutes * 60
            and (traffic.tally.routes() >= WARMUP_ROUTES)
        ):
            warm, note = len(samples) - 1, "  (end of warm-up)"
        print(_line(*samples[-1], pid) + note, flush=True)
    traffic.stop.set()
    for thread in threads:
        thread.join(timeout=150)
    if server.process.poll() is not None:
        raise BenchmarkError(f"the server exited during the soak:\n{log_tail(server.log_path)}")
    return samples, warm


def _level(curve: list[tuple[float, float]], since: float, until: float) -> float:
    """The median RSS of the samples taken in [since, until]: a sample caught during a large
    push (tens of MiB for a few seconds) is not the level the server settles at."""
    inside = sorted(mib for at, mib in curve if since <= at <= until)
    return inside[len(inside) // 2]


def summarise(curve: list[tuple[float, float]], warm_at: float | None, window_s: float) -> None:
    """The curve every ~5 minutes, then start, after warm-up and end, and the growth."""
    print("\nthe curve, a sample every ~5 minutes:\n\n| minute | RSS MiB |\n|---:|---:|")
    shown = -300.0
    for index, (at, mib) in enumerate(curve):
        if at - shown >= 299 or index == len(curve) - 1:
            print(f"| {at / 60:.1f} | {mib:.1f} |")
            shown = at
    start, last = curve[0][1], curve[-1][0]
    end = _level(curve, last - window_s, last)
    levels = f"median of the samples of the {window_s / 60:g} minutes"
    print(
        f"\nstart (before any traffic) {start:.1f} MiB; end ({levels} up to the end) {end:.1f} MiB"
    )
    print(f"growth from start to end: {100 * (end / start - 1):+.1f} %")
    if warm_at is None:
        print("warm-up never ended (some route never answered 2xx or 3xx)")
        return
    warm = _level(curve, warm_at, warm_at + window_s)
    print(f"after warm-up ({levels} from {warm_at / 60:.1f} min) {warm:.1f} MiB")
    print(f"growth from the end of warm-up to the end: {100 * (end / warm - 1):+.1f} %")
    print(f"highest sample after warm-up {max(m for at, m in curve if at >= warm_at):.1f} MiB")


def summarise_log(path: Path, window_s: float) -> None:
    """`summarise` the curve a soak printed to `path`."""
    curve: list[tuple[float, float]] = []
    warm_at = None
    for line in path.read_text().splitlines():
        if (found := CURVE_LINE.match(line)) is not None:
            curve.append((float(found[1]) * 60, float(found[2])))
            if "end of warm-up" in line:
                warm_at = curve[-1][0]
    summarise(curve, warm_at, window_s)


def report(samples: list[Sample], warm: int, tally: Tally, window_s: float) -> None:
    curve = [(at, sum(rss.values())) for at, rss in samples]
    summarise(curve, samples[warm][0] if warm >= 0 else None, window_s)
    print("\nanswers by route and status:")
    for line in tally.summary():
        print(f"  {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--sample-seconds", type=float, default=30.0)
    parser.add_argument("--warmup-minutes", type=float, default=5.0)
    parser.add_argument("--pushes-per-second", type=float, default=6.0)
    parser.add_argument("--reads-per-second", type=float, default=2.0)
    parser.add_argument("--big-every", type=float, default=300.0, help="seconds")
    parser.add_argument("--big-size", type=int, default=2000)
    parser.add_argument("--big-severity", default="critical", help="warning: no degraded time")
    parser.add_argument("--trace", type=Path, help="tracemalloc snapshots into this directory")
    parser.add_argument("--trace-seconds", type=float, default=120.0)
    parser.add_argument("--level-minutes", type=float, default=5.0, help="see the docstring")
    parser.add_argument("--summarise", type=Path, help="only summarise the curve of this log")
    options = parser.parse_args()
    if options.summarise:
        summarise_log(options.summarise, options.level_minutes * 60)
        return
    if options.trace and options.workers != 1:
        parser.error("--trace needs one worker")
    print(
        f"soak: {options.minutes:g} min on {options.database}, {options.workers} worker(s), "
        f"started {datetime.now(UTC):%Y-%m-%d %H:%M}Z",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="slakeeper-soak-") as work:
        workdir = Path(work)
        with fresh_database(options.database, options.postgres_url, workdir) as url:
            reader_token, ingest_token = accounts(url)
            with soak_server(url, rule_file(workdir), options, workdir) as server:
                traffic = Traffic(
                    server.port,
                    Tally(),
                    threading.Event(),
                    ingest_token,
                    reader_token,
                    "ana",
                    PASSWORD,
                    options.pushes_per_second,
                    options.reads_per_second,
                    options.big_every,
                    options.big_size,
                    options.big_severity,
                )
                samples, warm = soak(server, traffic, options)
            print(f"server log:\n{log_tail(server.log_path)}")
    report(samples, warm, traffic.tally, options.level_minutes * 60)


if __name__ == "__main__":
    try:
        main()
    except BenchmarkError as error:
        sys.exit(f"soak: {error}")
