"""Group commit: concurrent submissions share one write transaction.

Each request waits until the transaction holding its work has committed, so an answer
of 200 always means "durably stored". Under load, submissions that arrive while a
transaction is in flight are written together by the next one: throughput rises with
concurrency instead of being capped by transactions per second, and latency at low load
is that of a single transaction (nothing waits on a timer).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Connection, Engine, exc
from sqlalchemy.orm import Session
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from core.database import DatabaseUnavailable, error_summary, is_unavailable_error

__all__ = ["GroupCommitWriter", "WriterOverloaded", "WriterStopped"]

log = logging.getLogger(__name__)

Item = TypeVar("Item")

_CONFLICT_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock


class WriterOverloaded(Exception):
    """Too much work is queued: the sender should retry later."""


class WriterStopped(Exception):
    """The writer is shutting down and takes no more work."""


@dataclass(slots=True)
class _Submission(Generic[Item]):
    item: Item
    size: int
    # Settled on `loop`, the event loop of the request that waits for it.
    future: asyncio.Future[None]
    loop: asyncio.AbstractEventLoop


def _is_worth_retrying(error: BaseException) -> bool:
    """A deadlock or serialization failure, or a connection found dead: nothing committed."""
    if not isinstance(error, exc.DBAPIError):
        return False
    return error.connection_invalidated or (
        getattr(error.orig, "sqlstate", None) in _CONFLICT_SQLSTATES
    )


class GroupCommitWriter(Generic[Item]):
    """Writes submitted items with `apply(session, items)`, many per transaction."""

    def __init__(
        self,
        apply: Callable[[Session, Sequence[Item]], None],
        engine: Engine,
        *,
        threads: int = 1,
        max_batch_size: int = 5_000,
        queue_limit: int = 20_000,
        name: str = "writer",
    ) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be at least 1, got {max_batch_size}")
        if queue_limit < 1:
            raise ValueError(f"queue_limit must be at least 1, got {queue_limit}")
        self._apply = apply
        self._engine = engine
        # Each writing thread keeps its connection: no pool checkout (and ping) per batch.
        self._local = threading.local()
        self._max_batch_size = max_batch_size
        self._queue_limit = queue_limit
        self._queue: queue.SimpleQueue[_Submission[Item] | None] = queue.SimpleQueue()
        self._pending = 0
        self._lock = threading.Lock()
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._run, name=f"{name}-{index}", daemon=True)
            for index in range(threads)
        ]

    def start(self) -> None:
        """Start the writing threads."""
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Write what is queued, then stop."""
        with self._lock:
            self._stopping = True
        for thread in self._threads:
            if thread.is_alive():
                self._queue.put(None)  # one stop mark per thread
        for thread in self._threads:
            thread.join(timeout)

    @property
    def alive(self) -> bool:
        return all(thread.is_alive() for thread in self._threads)

    async def submit(self, item: Item, size: int = 1) -> None:
        """Return once `item` is committed; raise what prevented it."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self._stopping:
                raise WriterStopped("shutting down")
            if self._pending >= self._queue_limit:
                raise WriterOverloaded(f"{self._pending} submissions already queued")
            self._pending += 1
        self._queue.put(_Submission(item, size, future, loop))
        # A request that gives up cancels only its wait: the item is still written, as its
        # sender may not send it again.
        await future

    def _run(self) -> None:
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch, stop = self._gather(first)
                self._write(batch)
                if stop:
                    return
        finally:
            connection = getattr(self._local, "connection", None)
            if connection is not None:
                connection.close()

    def _gather(self, first: _Submission[Item]) -> tuple[list[_Submission[Item]], bool]:
        batch, size = [first], first.size
        stop = False
        while size < self._max_batch_size:
            try:
                following = self._queue.get_nowait()
            except queue.Empty:
                break
            if following is None:
                stop = True
                break
            batch.append(following)
            size += following.size
        return batch, stop

    def _write(self, batch: list[_Submission[Item]]) -> None:
        try:
            self._commit([submission.item for submission in batch])
        except Exception as error:  # noqa: BLE001 - handed to every waiting request below
            if len(batch) > 1 and not is_unavailable_error(error):
                # Keep one bad submission from failing the others written with it.
                for submission in batch:
                    self._write([submission])
                return
            self._settle(batch, _public_error(error))
            return
        self._settle(batch, None)

    def _commit(self, items: list[Item]) -> None:
        for attempt in Retrying(
            retry=retry_if_exception(_is_worth_retrying),
            stop=stop_after_attempt(5),
            wait=wait_random_exponential(multiplier=0.01, max=0.5),
            reraise=True,
        ):
            with attempt:
                connection = self._writing_connection()
                try:
                    with Session(bind=connection) as session, session.begin():
                        self._apply(session, items)
                except BaseException:
                    # Whatever failed, start the next batch on a fresh connection.
                    self._release_connection()
                    raise

    def _writing_connection(self) -> Connection:
        connection: Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._engine.connect().execution_options(sqlite_immediate=True)
            self._local.connection = connection
        return connection

    def _release_connection(self) -> None:
        connection: Connection | None = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            connection.invalidate()
            connection.close()

    def _settle(self, batch: list[_Submission[Item]], error: BaseException | None) -> None:
        with self._lock:
            self._pending -= len(batch)
        # One wake-up of each event loop for the whole batch, not one per request: waking
        # the loop per future was a tenth of the server's time at a thousand pushes a second.
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        for submission in batch:
            by_loop.setdefault(submission.loop, []).append(submission.future)
        for loop, futures in by_loop.items():
            # A closed loop raises RuntimeError: nobody waits for these any more.
            with suppress(RuntimeError):
                loop.call_soon_threadsafe(_answer, futures, error)


def _answer(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    """On the event loop: settle the futures still waited for."""
    for future in futures:
        if future.done():
            continue  # its request gave up (cancelled)
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


def _public_error(error: Exception) -> Exception:
    if is_unavailable_error(error):
        log.warning("database unavailable: %s", error_summary(error))
        return DatabaseUnavailable(error_summary(error))
    log.error("write failed", exc_info=error)
    return error
