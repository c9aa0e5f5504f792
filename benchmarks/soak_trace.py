"""A diagnostic for the soak: `slakeeper` run under tracemalloc, and what grew between two
of its snapshots.

`python -m benchmarks.soak_trace serve DIR SECONDS -- ARGS...` runs `slakeeper ARGS...` in
this process (one worker: uvicorn serves in it) with tracemalloc on, and every SECONDS writes
DIR/NNNN.snap (the snapshot) and DIR/NNNN.types (live objects by type, from the gc).
`python -m benchmarks.soak_trace compare OLD NEW` prints the tracebacks whose allocations
grew most between two snapshots, and the types whose counts grew most. Tracing slows the
server about twice and sees only Python's allocations, not the C libraries' own.
"""

from __future__ import annotations

import gc
import sys
import threading
import tracemalloc
from collections import Counter
from pathlib import Path

__all__ = ["compare", "serve_traced"]

FRAMES = 8


def _dump_every(directory: Path, seconds: float) -> None:
    number = 0
    while True:
        threading.Event().wait(seconds)
        gc.collect()
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
