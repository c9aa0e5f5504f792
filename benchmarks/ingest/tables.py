"""The ingestion benchmark's output: a header line, a table per database, JSON."""

from __future__ import annotations

import json
import platform
import signal
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.harness.procfs import cpu_model, usable_cores
from benchmarks.ingest.measure import DatabaseRun, Figures
from benchmarks.ingest.options import Options

__all__ = ["header_line", "report", "write_json"]


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


def _per_alert(seconds: float | None, item: Figures) -> str:
    """CPU microseconds per alert stored: what an alert costs, whatever the load reached."""
    alerts = item.alerts_per_s * item.duration_s
    if seconds is None or alerts <= 0:
        return "n/a"
    return f"{seconds * 1e6 / alerts:.0f}"


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
            "srv µs/alert",
            "db µs/alert",
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
                _per_alert(item.server_cpu_s, item),
                _per_alert(item.db_cpu_s, item),
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
