"""`python -m benchmarks.ingest`: every database in turn, each reported when it is done."""

from __future__ import annotations

import shutil
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from benchmarks.harness import BenchmarkError
from benchmarks.harness.servers import find_slakeeper
from benchmarks.ingest.measure import DatabaseRun, benchmark_database
from benchmarks.ingest.options import Options, parse_options
from benchmarks.ingest.tables import header_line, report, write_json
from benchmarks.ingest.wrk import WRK_INSTALL_HINT


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
        print(f"ingest: wrk is not installed; install it with: {WRK_INSTALL_HINT}", file=sys.stderr)
        return 2
    try:
        slakeeper = find_slakeeper()
        print(header_line(options), flush=True)
        runs = run_all(options, slakeeper)
    except BenchmarkError as error:
        print(f"ingest: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ingest: interrupted (servers stopped, databases dropped)", file=sys.stderr)
        return 130
    if options.json_path is not None:
        write_json(options.json_path, options, runs)
        print(f"\nresults written to {options.json_path}")
    return 0 if all(check.ok for run in runs for check in run.checks) else 1


if __name__ == "__main__":
    sys.exit(main())
