"""Leadership among the processes that share one database: one of them leads at a time.

- PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) held on a connection of
  its own. A process that dies drops its connection, and PostgreSQL releases the lock with it.
  The leader confirms it still holds the lock at every round; a round that fails (connection
  lost or terminated, lock gone) makes it step down at once. On PostgreSQL 14 and later the
  session also carries `idle_session_timeout` (3 rounds): a leader frozen or cut off for that
  long loses its session, and so the lock, on the server's side too.
- SQLite: an exclusive `flock` on a file beside the database file (`<file>-leader`), which the
  kernel releases when the process that holds it ends. The file says who holds it.
- A database in memory belongs to one process: that process leads.

`Leadership` runs the rounds on a thread of its own. `leading` is true only within a lease
(2 rounds) of the last round that confirmed the lock: a leader whose round hangs stops
leading by itself before the server ends its session, so two leaders never overlap for
longer than a job already running takes to finish.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, NullPool, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from core.database import error_summary, normalise_database_url, redacted_url

__all__ = [
    "AdvisoryLockElector",
    "Elector",
    "FileLockElector",
    "Leadership",
    "SoleElector",
    "advisory_lock_key",
    "elector_for",
]

log = logging.getLogger(__name__)


class Elector(Protocol):
    """One way of holding leadership: `campaign` takes it or confirms it is still held
    (raising `SQLAlchemyError` or `OSError` when it cannot tell); `resign` lets it go."""

    @property
    def description(self) -> str: ...

    def campaign(self) -> bool: ...

    def resign(self) -> None: ...


def advisory_lock_key(name: str) -> int:
    """The 64-bit advisory lock key of `name` (signed, as PostgreSQL's bigint)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


_HOLDS = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND objsubid = 1"
    " AND classid = CAST(:high AS oid) AND objid = CAST(:low AS oid))"
)


class AdvisoryLockElector:
    """Leadership as a PostgreSQL session-level advisory lock on a connection of its own."""

    def __init__(self, url: str | URL, *, name: str, round_interval: timedelta) -> None:
        if round_interval <= timedelta(0):
            raise ValueError(f"the round interval must be positive, got {round_interval}")
        self.key = advisory_lock_key(name)
        self._interval = round_interval
        plain = url if isinstance(url, str) else url.render_as_string(hide_password=False)
        self._url = normalise_database_url(plain)
        seconds = max(1, round(round_interval.total_seconds()))
        self._engine = create_engine(
            self._url,
            poolclass=NullPool,
            connect_args={
                "connect_timeout": max(2, seconds),
                "application_name": "slakeeper-leader",
                # A peer gone without a word (power cut, cable) is noticed within ~2 rounds.
                "keepalives": 1,
                "keepalives_idle": seconds,
                "keepalives_interval": 1,
                "keepalives_count": 3,
                "tcp_user_timeout": 2 * seconds * 1000,
                "options": f"-c statement_timeout={seconds * 1000}"
                f" -c tcp_keepalives_idle={seconds} -c tcp_keepalives_interval=1"
                " -c tcp_keepalives_count=3",
            },
        )
        self._connection: Connection | None = None
        self._held = False

    @property
    def description(self) -> str:
        return f"PostgreSQL advisory lock {self.key} on {redacted_url(self._url)}"

    def campaign(self) -> bool:
        try:
            connection = self._connection or self._connect()
            if self._held:
                high, low = (self.key >> 32) & 0xFFFFFFFF, self.key & 0xFFFFFFFF
                held = connection.execute(_HOLDS, {"high": high, "low": low}).scalar_one()
            else:
                taken = text("SELECT pg_try_advisory_lock(:key)")
                held = connection.execute(taken, {"key": self.key}).scalar_one()
        except SQLAlchemyError:
            self._drop()
            raise
        self._held = bool(held)
        return self._held

    def _connect(self) -> Connection:
        # Autocommit: a session that only holds a lock must not hold a transaction open too.
        connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self._connection = connection
        version = connection.execute(text("SHOW server_version_num")).scalar_one()
        if int(version) >= 140000:
            # The server's side of the lease: a session silent for 3 rounds is ended.
            idle = 3 * round(self._interval.total_seconds() * 1000)
            connection.execute(text(f"SET idle_session_timeout = {idle}"))
        return connection

    def _drop(self) -> None:
        self._held = False
        connection, self._connection = self._connection, None
        if connection is not None:
            # Closing the socket ends the session, and the lock with it, if it still lives.
            connection.invalidate()
            connection.close()

    def resign(self) -> None:
        if self._connection is not None and self._held:
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            except SQLAlchemyError as error:
                log.info("could not unlock the leadership lock (%s)", error_summary(error))
        self._drop()
        self._engine.dispose()


class FileLockElector:
    """Leadership as an exclusive `flock` on a file, released by the kernel when the holder
    ends: for the processes that share one SQLite file on one machine."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._descriptor: int | None = None

    @property
    def description(self) -> str:
        return f"file lock {self.path}"

    def campaign(self) -> bool:
        if self._descriptor is not None:
            return True
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            return False
        except OSError:
            os.close(descriptor)
            raise
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        self._descriptor = descriptor
        return True

    def resign(self) -> None:
        descriptor, self._descriptor = self._descriptor, None
        if descriptor is not None:
            os.close(descriptor)


class SoleElector:
    """Leadership where no other process can share the database (SQLite in memory)."""

    description = "the only process of an in-memory database"

    def campaign(self) -> bool:
        return True

    def resign(self) -> None:
        return None  # nothing was taken: there is nothing to give back


def elector_for(url: str | URL, *, name: str, round_interval: timedelta) -> Elector:
    """The elector the database at `url` allows (nothing is connected before a round)."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() == "postgresql":
        return AdvisoryLockElector(url, name=name, round_interval=round_interval)
    database = parsed.database or ""
    if database in {"", ":memory:"} or "mode=memory" in str(parsed.query):
        return SoleElector()
    return FileLockElector(Path(database).with_name(Path(database).name + "-leader"))


class Leadership:
    """Rounds of an elector every `interval` on a thread, from `start()` to `stop()`; changes
    are logged at INFO and passed to `on_change`."""

    def __init__(
        self,
        elector: Elector,
        *,
        interval: timedelta,
        what: str = "the scheduled jobs",
        monotonic: Callable[[], float] = time.monotonic,
        on_change: Callable[[bool], None] = lambda _leading: None,
    ) -> None:
        if interval <= timedelta(0):
            raise ValueError(f"the leadership interval must be positive, got {interval}")
        self.elector = elector
        self.interval = interval
        self.lease = 2 * interval
        self._what = what
        self._monotonic = monotonic
        self._on_change = on_change
        self._lock = threading.Lock()
        self._confirmed_at: float | None = None
        self._announced: bool | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def leading(self) -> bool:
        """True within the lease of the last round that confirmed leadership."""
        with self._lock:
            confirmed = self._confirmed_at
        return confirmed is not None and self._monotonic() - confirmed < self.lease.total_seconds()

    def start(self) -> None:
        """Run a first round now (so a leader's jobs can start at once), then on a thread."""
        self.round()
        self._thread = threading.Thread(target=self._run, name="leadership", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the rounds and let leadership go."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(self.lease.total_seconds() + 5)
        with self._lock:
            self._confirmed_at = None
        self.elector.resign()
        if self._announced:
            log.info("this process no longer leads %s: stopping", self._what)
            self._on_change(False)
        self._announced = False

    def round(self) -> bool:
        """Take or confirm leadership once; True if this process leads now."""
        started = self._monotonic()
        reason = ""
        try:
            held = self.elector.campaign()
        except (SQLAlchemyError, OSError) as error:
            held, reason = False, error_summary(error)
        with self._lock:
            self._confirmed_at = started if held else None
        self._announce(held, reason)
        return held

    def _run(self) -> None:
        while not self._stopping.wait(self.interval.total_seconds()):
            self.round()

    def _announce(self, held: bool, reason: str) -> None:
        if held == self._announced:
            return
        every = f"{self.interval.total_seconds():g} s"
        description = self.elector.description
        if held:
            log.info("this process now leads %s (%s)", self._what, description)
        elif self._announced:
            because = f": {reason}" if reason else ": the lock is no longer held"
            log.info("this process no longer leads %s%s", self._what, because)
        elif reason:
            log.info("cannot tell who leads %s (%s); trying every %s", self._what, reason, every)
        else:
            log.info(
                "another process leads %s (%s); trying every %s", self._what, description, every
            )
        self._announced = held
        self._on_change(held)
