"""A diagnostic for the soak: `slakeeper` run under tracemalloc, and what grew between two
of its snapshots.

`python -m benchmarks.soak_trace serve DIR SECONDS -- ARGS...` runs `slakeeper ARGS...` in
this process (one worker: uvicorn serves in it) with tracemalloc on, and every SECONDS writes
DIR/NNNN.snap (the snapshot) and DIR/NNNN.types (live objects by type, from the gc).
`python -m benchmarks.soak_trace compare OLD NEW` prints the tracebacks whose allocations
grew most between two snapshots, and the types whose counts grew most. Tracing slows the
server about twice and sees only Python's allocations, not the C libraries' own.

Every SECONDS it also appends to DIR/allocators.log the RSS, glibc's heaps (`mallinfo2`: in
use, free, mmapped) and pymalloc's arenas. `SOAK_TRACEMALLOC=0` keeps only that line (no
tracing, no snapshots); `SOAK_TRIM_PROBE=1` then calls `malloc_trim` and logs the RSS after.
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
import tempfile
import threading
import tracemalloc
from collections import Counter
from pathlib import Path

__all__ = ["compare", "serve_traced"]

FRAMES = 8


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks")
        + ("uordblks", "fordblks", "keepcost")
    ]


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _allocators() -> str:
    """glibc's heap (all arenas) and pymalloc's arenas, in MiB, on one line."""
    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = _MallInfo2
    info = libc.mallinfo2()
    with tempfile.TemporaryFile() as capture:
        saved = os.dup(2)
        os.dup2(capture.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        capture.seek(0)
        stats = capture.read().decode(errors="replace").splitlines()
    pymalloc = {
        line.split("=")[0].strip(): line.split("=")[1].strip().replace(",", "")
        for line in stats
        if line.startswith(("# arenas allocated current", "# bytes in allocated blocks"))
    }
    mib = 1024 * 1024
    return (
        f"glibc heap {info.arena / mib:.1f} (in use {info.uordblks / mib:.1f}, free "
        f"{info.fordblks / mib:.1f}, top {info.keepcost / mib:.1f}), mmapped "
        f"{info.hblkhd / mib:.1f} in {info.hblks}; pymalloc arenas "
        f"{pymalloc.get('# arenas allocated current', '?')}, in blocks "
        f"{int(pymalloc.get('# bytes in allocated blocks', 0)) / mib:.1f}"
    )


def _dump_every(directory: Path, seconds: float) -> None:
    number = 0
    while True:
        threading.Event().wait(seconds)
        gc.collect()
        line = f"{number:04d} RSS {_rss_mib():.1f} MiB, {_allocators()}"
        if os.environ.get("SOAK_TRIM_PROBE") == "1":
            # How much of it malloc_trim would give back (the probe does give it back).
            ctypes.CDLL(None).malloc_trim(0)
            line += f"; after malloc_trim RSS {_rss_mib():.1f} MiB"
        with (directory / "allocators.log").open("a") as log:
            log.write(line + "\n")
        if not tracemalloc.is_tracing():
            number += 1
            continue
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__)]
        )
        snapshot.dump(str(directory / f"{number:04d}.snap"))
        types = Counter(type(thing).__qualname__ for thing in gc.get_objects())
        lines = [f"{count} {name}" for name, count in types.most_common(200)]
        (directory / f"{number:04d}.types").write_text("\n".join(lines) + "\n")
        number += 1


def serve_traced(directory: Path, seconds: float, arguments: list[str]) -> None:
    """Run the slakeeper CLI with `arguments`, traced, dumping snapshots in `directory`."""
    # Imported before tracing starts: importing the app traced takes minutes, and only what
    # the server allocates once serving matters here.
    import slakeeper.app  # noqa: F401
    from slakeeper.cli import main as slakeeper_main

    directory.mkdir(parents=True, exist_ok=True)
    if os.environ.get("SOAK_TRACEMALLOC", "1") != "0":
        tracemalloc.start(FRAMES)
    threading.Thread(target=_dump_every, args=(directory, seconds), daemon=True).start()
    sys.argv = ["slakeeper", *arguments]
    slakeeper_main()


def _types(path: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        count, _, name = line.partition(" ")
        counts[name] = int(count)
    return counts


def compare(old: Path, new: Path, top: int = 25) -> None:
    """Print what grew most from snapshot `old` to `new`, by traceback and by type."""
    before = tracemalloc.Snapshot.load(str(old))
    after = tracemalloc.Snapshot.load(str(new))
    total = sum(stat.size for stat in after.statistics("filename")) - sum(
        stat.size for stat in before.statistics("filename")
    )
    print(f"traced Python memory grew {total / 1024:+,.0f} KiB from {old.name} to {new.name}")
    for stat in after.compare_to(before, "traceback")[:top]:
        print(f"\n{stat.size_diff / 1024:+,.1f} KiB, {stat.count_diff:+,} blocks")
        for line in stat.traceback.format(limit=FRAMES, most_recent_first=True):
            print(f"  {line}")
    grown = _types(new.with_suffix(".types"))
    grown.subtract(_types(old.with_suffix(".types")))
    print("\nlive objects by type, growth:")
    for name, count in grown.most_common(top):
        print(f"  {count:+,} {name}")


def main() -> None:
    verb = sys.argv[1] if len(sys.argv) > 1 else ""
    if verb == "serve" and "--" in sys.argv:
        split = sys.argv.index("--")
        serve_traced(Path(sys.argv[2]), float(sys.argv[3]), sys.argv[split + 1 :])
    elif verb == "compare" and len(sys.argv) == 4:
        compare(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
