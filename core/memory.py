"""Giving freed memory back to the system, and holding less of it: glibc keeps what a
process freed inside its heaps, and the RSS stays at its peak otherwise.

A server's transient peaks (a push of thousands of alerts, a month's report, a long console
page) leave megabytes free but held: in 30 minutes of the soak (benchmarks/README.md, "Soak")
the free memory glibc held grew from 4 to 23 MiB while what it had in use grew by 3.5 MiB.
`malloc_trim` returns the free pages of every arena; `MemoryTrimmer` calls it now and then
from a thread of its own; `cap_malloc_arenas` keeps the number of arenas, each with its own
free memory, small.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from collections.abc import Callable

__all__ = [
    "MALLOC_ARENAS",
    "TRIM_EVERY_S",
    "MemoryTrimmer",
    "cap_malloc_arenas",
    "release_freed_memory",
]

# glibc gives the threads of a process up to 8 malloc arenas per core (16 here), each keeping
# the free memory of its own past peaks: after 11 minutes of the soak a server had 15 of them
# holding 18 MiB, against 5.6 MiB in the one extra arena of a server capped at two.
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # mallopt's parameter number (malloc.h)

# malloc_trim walks every arena, holding each one's lock meanwhile: 20-130 ms on a
# fragmented heap of 100 MB on a loaded 2-core machine, so not much more often than this.
TRIM_EVERY_S = 60.0


def _load_libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") else None


_LIBC = _load_libc()


def release_freed_memory() -> None:
    """Return the free pages of glibc's heaps to the system (nothing elsewhere)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def cap_malloc_arenas(count: int = MALLOC_ARENAS) -> bool:
    """At most `count` glibc malloc arenas in this process from now on, and in the processes
    it starts (through MALLOC_ARENA_MAX, which glibc reads at start); an operator's own
    MALLOC_ARENA_MAX is left as it is. Whether this process's cap was set here."""
    if count < 1:
        raise ValueError(f"count must be positive, got {count}")
    if "MALLOC_ARENA_MAX" in os.environ or _LIBC is None or not hasattr(_LIBC, "mallopt"):
        return False
    os.environ["MALLOC_ARENA_MAX"] = str(count)
    return bool(_LIBC.mallopt(_M_ARENA_MAX, count))


class MemoryTrimmer:
    """Calls `trim` every `every_s` seconds in a daemon thread, from `start` to `stop`."""

    def __init__(
        self, every_s: float = TRIM_EVERY_S, trim: Callable[[], None] = release_freed_memory
    ) -> None:
        if every_s <= 0:
            raise ValueError(f"every_s must be positive, got {every_s}")
        self._every = every_s
        self._trim = trim
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the trimmer is already running")
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="memory-trim", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.wait(self._every):
            self._trim()
