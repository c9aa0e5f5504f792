"""How long the signed month takes: closing a month for every service, its report from the
records, measuring it again for changes, and the report's HTML and PDF.

Measures and prints; asserts nothing. Run: `.venv/bin/python -m benchmarks.months`
(`--databases sqlite,postgresql`, `--services 1000`, `--windows 100000`, `--repeat 3`,
`--chromium /usr/bin/chromium`, `--profile`).

A fresh database per run gets the data of `benchmarks.report` (`populate`: `--windows`
resolved outage alerts over `--services` services, a third overlapping another, and 2,000
closed incidents) for November 2026, and the clock stands at 2026-12-07 03:00 UTC, so the
month is over everywhere. Then, each step `--repeat` times and the median printed:

- close: `ledger.service.close_month` for every service in its own transaction, commit
  included (the month is reopened, untimed, before each close after the first: every close
  writes a new version of the 1,000 records);
- report: `ledger.reporting.month_report` of the closed month, in a fresh session;
- watch: `ledger.watching.watch_month`, the closed month measured again for changes (none
  here), in its own transaction;
- HTML: `availability.html.render_html` in zh-CN and en;
- PDF: `availability.pdf.html_to_pdf` of each HTML (a headless Chromium each time).

CPU is this process's (user + system, `time.process_time`): on a shared machine it says
more than the wall time, but not the database server's work on PostgreSQL. Peak RSS is
this process's VmHWM during the step (reset before each repeat through
/proc/self/clear_refs). For the PDF both are Chromium's: every process under this one
(browser, zygote, renderer, utilities), sampled from /proc every 50 ms, CPU summed, memory
as the highest sum of their PSS (shared pages counted once, not once per process). Under
the table: the stored size of the records (their figures as canonical JSON, and what the
database keeps), the PDFs' pages (`pdfinfo`) and sizes, the load average, and a sanity
line. `--profile` adds cProfile's top functions of one close, one report and one watch.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import io
import os
import platform
import pstats
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from availability.compliance import ComplianceReport
from availability.html import render_html
from availability.pdf import html_to_pdf
from benchmarks.harness.databases import empty_database
from benchmarks.harness.procfs import (
    CLOCK_TICKS,
    cpu_model,
    peak_rss_mib,
    process_tree,
    read_all_proc_stats,
    reset_peak_rss,
    usable_cores,
)
from benchmarks.report import populate
from core.database import create_database_engine
from ledger.reporting import month_report
from ledger.service import close_month, reopen_month
from ledger.store import current_records
from ledger.watching import watch_month
from rules.loader import DEFAULT_RULES, load_rule_file
from rules.policy import RuleFile

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
YEAR, MONTH = 2026, 11
MONTH_NAME = f"{YEAR:04d}-{MONTH:02d}"
LANGS = ("zh-CN", "en")
SELF = {os.getpid()}


@dataclass(slots=True)
class Step:
    """One timed step: wall and CPU seconds per repeat, and its peak memory."""

    name: str
    budget: str = ""
    samples: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    peak_mib: float = 0.0
    note: str = ""

    def row(self, database: str) -> str:
        return (
            f"| {database} | {self.name} | {statistics.median(self.samples):,.2f} |"
            f" {min(self.samples):,.2f} | {max(self.samples):,.2f} |"
            f" {statistics.median(self.cpu):,.2f} | {self.budget} |"
            f" {self.peak_mib:,.0f}{self.note} |"
        )


def timed(step: Step, call: Callable[[], object], repeat: int, before: Callable[[], None]) -> None:
    """Run `call` `repeat` times, `before` (untimed) ahead of each; keep the wall and CPU
    time of each call and the process's peak RSS during the calls."""
    for _ in range(repeat):
        before()
        reset = reset_peak_rss(SELF)
        started, cpu = time.perf_counter(), time.process_time()
        call()
        step.samples.append(time.perf_counter() - started)
        step.cpu.append(time.process_time() - cpu)
        step.peak_mib = max(step.peak_mib, peak_rss_mib(SELF))
        if not reset:
            step.note = " (since start)"


@dataclass(slots=True)
class Children:
    """CPU seconds and peak memory (PSS, MiB, summed) of this process's descendants."""

    ticks: dict[int, int] = field(default_factory=dict)
    peak_mib: float = 0.0

    @property
    def cpu_s(self) -> float:
        return sum(self.ticks.values()) / CLOCK_TICKS


def _pss_mib(pid: int) -> float:
    """Proportional set size of `pid` (its shared pages divided among their users, so that
    summing over Chromium's processes counts each page once), 0 once it has exited."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    return 0.0


@contextlib.contextmanager
def watching_children(interval: float = 0.05) -> Iterator[Children]:
    """Sample every process under this one until the block ends: each one's own CPU ticks
    as last seen (a process's last `interval` before it exits is lost) and the sum of their
    PSS at its highest."""
    seen = Children()
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            stats = read_all_proc_stats()
            resident = 0.0
            for pid in process_tree(os.getpid(), stats) - SELF:
                seen.ticks[pid] = stats[pid].ticks
                resident += _pss_mib(pid)
            seen.peak_mib = max(seen.peak_mib, resident)
            done.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield seen
    finally:
        done.set()
        sampler.join()


def _nothing() -> None:
    return None


def close(engine: Engine, rules: RuleFile) -> int:
    with Session(engine) as session, session.begin():
        records = close_month(
            session, rules=rules, month=MONTH_NAME, services=None, actor="bench", now=NOW
        )
        return len(records)


def reopen(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        reopen_month(
            session, month=MONTH_NAME, services=None, reason="bench", actor="bench", now=NOW
        )


def report(engine: Engine, rules: RuleFile) -> ComplianceReport:
    with Session(engine) as session:
        return month_report(session, rules=rules, year=YEAR, month=MONTH, now=NOW)


def watch(engine: Engine, rules: RuleFile) -> int:
    with Session(engine) as session, session.begin():
        return len(watch_month(session, month=MONTH_NAME, rules_of=lambda _: rules, now=NOW))


def stored_sizes(engine: Engine) -> tuple[int, int, int, int]:
    """Records, their figures as canonical JSON (bytes), the figures as the database keeps
    them (bytes: TOAST-compressed jsonb on PostgreSQL, text on SQLite), downtime segments."""
    with Session(engine) as session:
        records = current_records(session, MONTH_NAME)
        json_bytes = sum(len(orjson.dumps(r.figures, option=orjson.OPT_SORT_KEYS)) for r in records)
        segments = sum(len(r.figures["segments"]["downtime"]) for r in records)
        size = (
            "pg_column_size(figures)"
            if engine.dialect.name == "postgresql"
            else "length(CAST(figures AS BLOB))"
        )
        query = f"SELECT sum({size}) FROM month_records WHERE month = :m AND reopened_at IS NULL"
        stored = session.execute(text(query), {"m": MONTH_NAME}).scalar_one()
    return len(records), json_bytes, int(stored or 0), segments


def pdf_pages(pdf: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(pdf)
        file.flush()
        done = subprocess.run(
            ["pdfinfo", file.name], capture_output=True, text=True, check=False, timeout=60
        )
    for line in done.stdout.splitlines():
        if line.startswith("Pages:"):
            return line.split()[1]
    return "?"


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def profile(label: str, call: Callable[[], object], lines: int = 25) -> None:
    profiler = cProfile.Profile()
    profiler.runcall(call)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
    stats.print_stats(lines)
    print(f"\n--- cProfile: {label} (top {lines} by cumulative time) ---")
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip()))


def rendering(
    built: ComplianceReport, lang: str, args: argparse.Namespace, pages: dict[str, str]
) -> list[Step]:
    """Time the report's HTML and PDF in `lang`; note the files' sizes in `pages`."""
    html_step = Step(f"render_html {lang}")
    timed(html_step, functools.partial(render_html, built, lang=lang), args.repeat, _nothing)
    html = render_html(built, lang=lang)
    pdf_step = Step(f"html_to_pdf {lang}", "≤ 10 s", note=" (Chromium)")
    pdfs: list[bytes] = []
    for _ in range(args.repeat):
        with watching_children() as chromium:
            started = time.perf_counter()
            pdfs.append(html_to_pdf(html, chromium=args.chromium, timeout=120))
            pdf_step.samples.append(time.perf_counter() - started)
        pdf_step.cpu.append(chromium.cpu_s)
        pdf_step.peak_mib = max(pdf_step.peak_mib, chromium.peak_mib)
    pages[lang] = (
        f"{lang}: HTML {len(html.encode()) / 1024:,.0f} KiB,"
        f" PDF {pdf_pages(pdfs[-1])} pages, {len(pdfs[-1]) / 1024:,.0f} KiB"
    )
    return [html_step, pdf_step]


def run(url: str, database: str, args: argparse.Namespace, rules: RuleFile) -> list[str]:
    started = time.perf_counter()
    populate(url, rules, args.services, args.windows, year=YEAR, month=MONTH, now=NOW)
    print(f"  {database}: loaded in {time.perf_counter() - started:.1f} s", flush=True)
    engine = create_database_engine(url)
    load_before = _load()
    closes = Step("close_month, all services, commit", "≤ 2 s")
    closed: list[int] = []
    first = [True]

    def before_close() -> None:
        if not first[0]:
            reopen(engine)
        first[0] = False

    timed(closes, lambda: closed.append(close(engine, rules)), args.repeat, before_close)
    reports = Step("month_report (closed month)")
    built: list[ComplianceReport] = []
    timed(reports, lambda: built.append(report(engine, rules)), args.repeat, _nothing)
    watches = Step("watch_month (no change)")
    changes: list[int] = []
    timed(watches, lambda: changes.append(watch(engine, rules)), args.repeat, _nothing)
    steps = [closes, reports, watches]
    pages: dict[str, str] = {}
    for lang in LANGS:
        steps += rendering(built[-1], lang, args, pages)
    records, json_bytes, stored, segments = stored_sizes(engine)
    summary = built[-1].summary
    lines = [step.row(database) for step in steps]
    lines.append(
        f"    {database} stored: {records:,} records, figures {json_bytes / 2**20:,.2f} MiB as JSON"
        f" ({json_bytes / max(records, 1) / 1024:,.1f} KiB a service, {segments:,} downtime"
        f" segments), {stored / 2**20:,.2f} MiB in the database"
    )
    lines.append(f"    {database} " + "; ".join(pages[lang] for lang in LANGS))
    lines.append(
        f"    {database} sanity: closed {', '.join(str(n) for n in closed)} services;"
        f" report state {built[-1].record.state if built[-1].record else 'open'},"
        f" {summary['services']:,} services, downtime {summary['downtime_seconds']:,.0f} s;"
        f" watch recorded {', '.join(str(n) for n in changes)} changes"
    )
    lines.append(f"    {database} load average (1 min): {load_before} before, {_load()} after")
    if args.profile:
        reopen(engine)
        profile(f"{database} close_month", lambda: close(engine, rules))
        profile(f"{database} month_report", lambda: report(engine, rules))
        profile(f"{database} watch_month", lambda: watch(engine, rules))
    engine.dispose()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--windows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--profile", action="store_true", help="cProfile close, report, watch")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    rules = load_rule_file(DEFAULT_RULES, default_timezone="Asia/Shanghai")
    print(
        f"slakeeper signed-month benchmark {datetime.now(UTC):%Y-%m-%d %H:%MZ} |"
        f" {cpu_model()}, {usable_cores()} cores, Python {platform.python_version()} |"
        f" {args.services:,} services, {args.windows:,} outage windows, month {MONTH_NAME},"
        f" median of {args.repeat}, load average {_load()}",
        flush=True,
    )
    lines: list[str] = []
    for database in args.databases.split(","):
        with empty_database(database, args.postgres_url, "slakeeper_months") as url:
            lines += run(url, database, args, rules)
    print("| database | step | median s | min s | max s | CPU s | budget | peak RSS MiB |")
    print("|---|---|---:|---:|---:|---:|---|---:|")
    print("\n".join(line for line in lines if line.startswith("|")))
    print("\n".join(line for line in lines if not line.startswith("|")))


if __name__ == "__main__":
    main()
