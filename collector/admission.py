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

import math
import threading
import time
from collections.abc import Callable

from core.memory import release_freed_memory

__all__ = ["InflightBytes", "Overloaded"]


class Overloaded(Exception):
    """The bytes in flight would pass the ceiling: the sender should retry later."""


# After this many bytes in flight at once, the next idle moment trims, whenever it comes.
TRIM_AFTER_PEAK_BYTES = 4 * 1024 * 1024
# Bodies of this many bytes in all since the last trim make the next idle moment trim too, if
# the last trim is `TRIM_INTERVAL_S` old. A push costs tens of times its body while it is
# handled (2,000 alerts: a 0.9 MB body, some 60 MB), so one such push, or minutes of small
# ones, leave freed memory worth giving back (3-4 MiB after each large push in the soak,
# benchmarks/README.md), and the peak rule alone never saw a push of 2,000 alerts.
TRIM_AFTER_BYTES = 512 * 1024
# malloc_trim walks every arena: 20-130 ms on a fragmented heap of 100 MB on this machine.
TRIM_INTERVAL_S = 30.0


class InflightBytes:
    """A ceiling on the request bytes being handled at once, in one process.

    When nothing is in flight any more, after `TRIM_AFTER_PEAK_BYTES` in flight at once or
    `trim_after_bytes` in all since the last trim (then at most once per `trim_interval_s`),
    the freed memory is returned to the system (`trim`): glibc keeps it otherwise, and the RSS
    stays at its peak.
    """

    def __init__(
        self,
        limit: int,
        *,
        trim_after_bytes: int = TRIM_AFTER_BYTES,
        trim_interval_s: float = TRIM_INTERVAL_S,
        trim: Callable[[], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1:
            raise ValueError(f"limit must be positive, got {limit}")
        if trim_after_bytes < 1:
            raise ValueError(f"trim_after_bytes must be positive, got {trim_after_bytes}")
        if trim_interval_s < 0:
            raise ValueError(f"trim_interval_s must not be negative, got {trim_interval_s}")
        self.limit = limit
        self._trim_after = trim_after_bytes
        self._trim_interval = trim_interval_s
        self._trim = trim or release_freed_memory
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._in_flight = 0
        self._peak = 0
        self._since_trim = 0
        self._trimmed_at = -math.inf

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
            self._since_trim += size

    def release(self, size: int) -> None:
        """Give back `size` bytes, and return freed memory to the system when it is time."""
        with self._lock:
            self._in_flight -= size
            assert self._in_flight >= 0, "released more than reserved"
            now = self._monotonic()
            trim = self._in_flight == 0 and (
                self._peak >= TRIM_AFTER_PEAK_BYTES
                or (
                    self._since_trim >= self._trim_after
                    and now - self._trimmed_at >= self._trim_interval
                )
            )
            if trim:
                self._peak, self._since_trim, self._trimmed_at = 0, 0, now
        if trim:
            self._trim()
