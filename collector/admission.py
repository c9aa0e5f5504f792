"""Admission by bytes in flight: what bounds the memory that concurrent pushes may take.

A push costs several times its body in memory while it is parsed, validated, classified and
written (the objects of a 6.6 MB webhook take some tens of MB), and it holds that memory until
it is committed. Twelve such pushes at once took a server from 175 MB to 1 GB. Each request
reserves its body's size before reading it (the declared Content-Length, or chunk by chunk when
none is declared) and gives it back once answered; a request that would take the bytes in
flight past the ceiling is answered 503 with Retry-After, which Alertmanager and Prometheus
retry, and nothing of it is read or written.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading

__all__ = ["InflightBytes", "Overloaded"]


class Overloaded(Exception):
    """The bytes in flight would pass the ceiling: the sender should retry later."""


class InflightBytes:
    """A ceiling on the request bytes being handled at once, in one process."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"limit must be positive, got {limit}")
        self.limit = limit
        self._lock = threading.Lock()
        self._in_flight = 0
        self._peak = 0

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def reserve(self, size: int) -> None:
        """Take `size` bytes of the budget, or raise Overloaded and take nothing."""
        with self._lock:
            if self._in_flight + size > self.limit:
                raise Overloaded(
                    f"{self._in_flight} bytes of pushes are being handled; "
                    f"{size} more would pass the ceiling of {self.limit}"
                )
            self._in_flight += size
            self._peak = max(self._peak, self._in_flight)

    def release(self, size: int) -> None:
        """Give back `size` bytes; when nothing large is in flight any more, return the freed
        memory to the system (glibc keeps it otherwise, and the RSS stays at its peak)."""
        with self._lock:
            self._in_flight -= size
            assert self._in_flight >= 0, "released more than reserved"
            trim = self._in_flight == 0 and self._peak >= _TRIM_AFTER_BYTES
            if trim:
                self._peak = 0
        if trim:
            _malloc_trim()


# After bodies of this many bytes in total have been in flight, freed memory is returned.
_TRIM_AFTER_BYTES = 4 * 1024 * 1024


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


def _malloc_trim() -> None:
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
