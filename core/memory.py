"""Giving freed memory back to the system: glibc keeps what a process freed, inside its
heaps, and the RSS stays at its peak otherwise.

A server's transient peaks (a push of thousands of alerts, a month's report, a long console
page) leave megabytes free but held; over an hour of mixed traffic that was about half of the
RSS growth (benchmarks/README.md, "Soak"). `malloc_trim` returns the free pages of every
arena; `MemoryTrimmer` calls it now and then from a thread of its own.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from collections.abc import Callable

__all__ = ["TRIM_EVERY_S", "MemoryTrimmer", "release_freed_memory"]

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
