"""`python -m benchmarks.yearly`: build (or reuse) the year in each database, then measure."""

from __future__ import annotations

import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from benchmarks.harness import BenchmarkError
from benchmarks.harness.servers import find_slakeeper
from benchmarks.yearly.building import year_database
from benchmarks.yearly.measure import DatabaseFigures, measure_database
from benchmarks.yearly.options import Options, parse_options
from benchmarks.yearly.tables import print_summary


def run(options: Options, workdir: Path) -> list[DatabaseFigures]:
    """Every database in turn, each measured after it is built (or reused)."""
    slakeeper = find_slakeeper()
    sizes = options.sizes
    print(
        f"yearly: {sizes.alerts:,} alerts, {sizes.incidents:,} incidents, "
        f"{sizes.services:,} services",
        flush=True,
    )
    results = []
    for kind in options.databases:
        with year_database(
            kind,
            sizes,
            admin_url=options.postgres_url,
            sqlite_dir=options.sqlite_dir,
            slakeeper=slakeeper,
            reuse=options.reuse,
        ) as built:
            load = f"loaded in {built.load_s:.0f} s" if built.load_s is not None else "reused"
            print(f"{kind}: {load}, migrations {built.migrate_s:.1f} s", flush=True)
            if not options.build_only:
                results.append(measure_database(options, built, workdir, slakeeper))
    return results


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: 0 when done, 1 when the benchmark could not go on."""
    options = parse_options(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with tempfile.TemporaryDirectory(prefix="slakeeper-yearly-") as workdir:
            results = run(options, Path(workdir))
    except BenchmarkError as error:
        print(f"yearly: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("yearly: interrupted", file=sys.stderr)
        return 130
    if results:
        print_summary(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
