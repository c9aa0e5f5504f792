"""The group-commit writer: shared transactions, isolation of a bad submission, back-pressure."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from core.database import create_database_engine
from core.writer import GroupCommitWriter, WriterOverloaded, WriterStopped


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'writer.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE items (name TEXT PRIMARY KEY)"))
    yield engine
    engine.dispose()


class Recorder:
    """An `apply` that inserts names, records each transaction, and can be held or fail."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.release = threading.Event()
        self.release.set()
        self.entered = threading.Event()

    def __call__(self, session: Session, names: Sequence[str]) -> None:
        self.entered.set()
        self.release.wait(10)
        self.batches.append(list(names))
        for name in names:
            if name.startswith("bad"):
                raise ValueError(f"cannot store {name}")
            session.execute(text("INSERT INTO items (name) VALUES (:name)"), {"name": name})


def stored(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return sorted(row[0] for row in connection.execute(text("SELECT name FROM items")))


async def submit_all(writer: GroupCommitWriter[str], names: list[str]) -> list[object]:
    return await asyncio.gather(*(writer.submit(name) for name in names), return_exceptions=True)


def test_submissions_arriving_during_a_transaction_share_the_next_one(engine: Engine) -> None:
    recorder = Recorder()
    recorder.release.clear()
    writer: GroupCommitWriter[str] = GroupCommitWriter(recorder, engine)
    writer.start()

    async def scenario() -> list[object]:
        first = asyncio.ensure_future(writer.submit("first"))
        await asyncio.to_thread(recorder.entered.wait, 10)
        rest = asyncio.ensure_future(submit_all(writer, [f"item-{i}" for i in range(49)]))
        await asyncio.sleep(0.05)
        recorder.release.set()
        await first  # raises if it failed
        return [None, *await rest]

    try:
        results = asyncio.run(scenario())
    finally:
        writer.stop()
    assert results == [None] * 50
    assert [len(batch) for batch in recorder.batches] == [1, 49]
    assert len(stored(engine)) == 50


def test_a_failing_submission_fails_alone_and_the_others_are_stored(engine: Engine) -> None:
    recorder = Recorder()
    recorder.release.clear()
    writer: GroupCommitWriter[str] = GroupCommitWriter(recorder, engine)
    writer.start()

    async def scenario() -> list[object]:
        blocker = asyncio.ensure_future(writer.submit("blocker"))
        await asyncio.to_thread(recorder.entered.wait, 10)
        batch = asyncio.ensure_future(submit_all(writer, ["good-1", "bad-1", "good-2"]))
        await asyncio.sleep(0.05)
        recorder.release.set()
        await blocker  # raises if it failed
        return [None, *await batch]

    try:
        results = asyncio.run(scenario())
    finally:
        writer.stop()
    assert results[:2] == [None, None] and results[3] is None
    assert isinstance(results[2], ValueError)
    assert stored(engine) == ["blocker", "good-1", "good-2"]


def test_a_full_queue_refuses_more_work(engine: Engine) -> None:
    recorder = Recorder()
    recorder.release.clear()
    writer: GroupCommitWriter[str] = GroupCommitWriter(recorder, engine, queue_limit=2)
    writer.start()

    async def scenario() -> list[object]:
        held = [asyncio.ensure_future(writer.submit(name)) for name in ("a", "b")]
        await asyncio.sleep(0.05)
        with pytest.raises(WriterOverloaded):
            await writer.submit("c")
        recorder.release.set()
        return list(await asyncio.gather(*held))

    try:
        assert asyncio.run(scenario()) == [None, None]
    finally:
        writer.stop()
    assert stored(engine) == ["a", "b"]


def test_stopping_writes_what_is_queued_then_refuses(engine: Engine) -> None:
    recorder = Recorder()
    recorder.release.clear()
    writer: GroupCommitWriter[str] = GroupCommitWriter(recorder, engine, threads=2)
    writer.start()

    async def scenario() -> list[object]:
        queued = [asyncio.ensure_future(writer.submit(f"q{i}")) for i in range(5)]
        await asyncio.sleep(0.05)
        stopping = asyncio.ensure_future(asyncio.to_thread(writer.stop))
        await asyncio.sleep(0.05)
        with pytest.raises(WriterStopped):
            await writer.submit("late")
        recorder.release.set()
        await stopping
        return list(await asyncio.gather(*queued))

    assert asyncio.run(scenario()) == [None] * 5
    assert stored(engine) == [f"q{i}" for i in range(5)]
    assert not writer.alive


@pytest.mark.parametrize(("threads", "size"), [(0, 1), (1, 0)])
def test_nonsense_sizes_are_refused_at_construction(
    engine: Engine, threads: int, size: int
) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        GroupCommitWriter(Recorder(), engine, threads=threads, max_batch_size=size)
