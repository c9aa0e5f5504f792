"""Leadership on real databases: two electors on one PostgreSQL database (or one SQLite file),
one leads; when it stops, dies (kill -9), loses its connection or falls silent, the other takes
over."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from core.database import create_database_engine
from core.leadership import (
    AdvisoryLockElector,
    Elector,
    FileLockElector,
    Leadership,
    SoleElector,
    elector_for,
)

ROUND = timedelta(seconds=0.5)


@pytest.fixture
def lock_name() -> str:
    """A lock of this test's own: other tests of the session share the database."""
    return f"test-leadership-{uuid.uuid4().hex}"


@pytest.fixture
def postgres(postgres_url: str) -> Iterator[Engine]:
    engine = create_database_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture
def electors(postgres_url: str, lock_name: str) -> Iterator[Callable[[], AdvisoryLockElector]]:
    made: list[AdvisoryLockElector] = []

    def make() -> AdvisoryLockElector:
        elector = AdvisoryLockElector(postgres_url, name=lock_name, round_interval=ROUND)
        made.append(elector)
        return elector

    yield make
    for elector in made:
        elector.resign()


def eventually(condition: Callable[[], bool], what: str, timeout: float = 15) -> float:
    """Poll `condition` until it holds; the seconds it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
    return time.monotonic() - started


def holder_process(elector_code: str) -> subprocess.Popen[str]:
    """A Python process that takes leadership, says so, and waits to be killed."""
    script = textwrap.dedent(
        f"""
        import sys, time
        from datetime import timedelta
        from core.leadership import AdvisoryLockElector, FileLockElector
        from pathlib import Path
        elector = {elector_code}
        assert elector.campaign()
        print("leading", flush=True)
        time.sleep(600)
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=Path.cwd()
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "leading"
    return process


def killed(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(10)


def test_of_two_electors_on_one_postgresql_database_one_leads_and_the_other_takes_over(
    electors: Callable[[], AdvisoryLockElector],
) -> None:
    first, second = electors(), electors()
    assert first.campaign() is True
    assert second.campaign() is False
    assert first.campaign() is True, "the leader confirms it still holds the lock"
    assert second.campaign() is False

    first.resign()
    assert second.campaign() is True
    assert first.campaign() is False


def test_a_leader_killed_with_sigkill_releases_the_lock_at_once(
    postgres_url: str, lock_name: str, electors: Callable[[], AdvisoryLockElector]
) -> None:
    holder = holder_process(
        f"AdvisoryLockElector({postgres_url!r}, name={lock_name!r},"
        " round_interval=timedelta(seconds=0.5))"
    )
    try:
        follower = electors()
        assert follower.campaign() is False
    finally:
        killed(holder)
    # PostgreSQL sees the socket close and ends the session: only the follower's next round
    # (every ROUND in a real `Leadership`) stands between the kill and the new leader.
    took = eventually(follower.campaign, "the follower to take the lock after the kill")
    assert took < 2


def test_a_leader_whose_session_is_terminated_steps_down_and_the_other_takes_over(
    electors: Callable[[], AdvisoryLockElector],
    postgres: Engine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    leader = Leadership(electors(), interval=ROUND)
    follower = Leadership(electors(), interval=ROUND)
    assert leader.round() and not follower.round()
    assert leader.leading and not follower.leading

    with postgres.begin() as connection:
        ended = connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks"
                " WHERE locktype = 'advisory' AND objid = :low AND granted"
            ),
            {"low": leader_key(leader) & 0xFFFFFFFF},
        ).scalars()
        assert list(ended) == [True]

    with caplog.at_level(logging.INFO, logger="core.leadership"):
        assert leader.round() is False
    assert not leader.leading
    assert "no longer leads the scheduled jobs" in caplog.text
    eventually(follower.round, "the follower to lead")
    assert follower.leading
    # The old leader reconnects as a follower.
    assert leader.round() is False


def leader_key(leadership: Leadership) -> int:
    elector = leadership.elector
    assert isinstance(elector, AdvisoryLockElector)
    return elector.key


def test_a_leader_that_falls_silent_stops_leading_before_the_server_ends_its_session(
    electors: Callable[[], AdvisoryLockElector],
) -> None:
    # The leader's rounds stop (a hung network, a frozen process): after its lease of two
    # rounds it no longer claims to lead; after three the server has ended its session.
    silent = Leadership(electors(), interval=ROUND)
    follower = electors()
    assert silent.round()
    assert silent.leading
    time.sleep(silent.lease.total_seconds() + 0.1)
    assert not silent.leading
    assert not follower.campaign(), "the server keeps the session for a third round"
    took = eventually(follower.campaign, "the server to end the silent leader's session")
    assert took < 3 * ROUND.total_seconds() + 1


def test_the_lease_counts_from_the_last_round_that_confirmed_leadership() -> None:
    now = [100.0]
    leadership = Leadership(SoleElector(), interval=timedelta(seconds=5), monotonic=lambda: now[0])
    assert not leadership.leading
    assert leadership.round()
    now[0] += 9.9
    assert leadership.leading
    now[0] += 0.1
    assert not leadership.leading
    assert leadership.round()
    assert leadership.leading


def test_leadership_changes_are_logged_and_reported_once_each(
    electors: Callable[[], AdvisoryLockElector], caplog: pytest.LogCaptureFixture
) -> None:
    changes: list[bool] = []
    first = Leadership(electors(), interval=ROUND)
    second = Leadership(electors(), interval=ROUND, on_change=changes.append)
    with caplog.at_level(logging.INFO, logger="core.leadership"):
        first.start()
        second.start()
        second.round()
        first.stop()
        eventually(lambda: second.leading, "the second to lead after the first stops")
        second.stop()
    assert changes == [False, True, False]
    messages = [record.getMessage() for record in caplog.records]
    assert sum("now leads" in message for message in messages) == 2
    assert sum("another process leads" in message for message in messages) == 1
    assert sum("no longer leads" in message for message in messages) == 2


def test_sqlite_leadership_is_a_file_lock_beside_the_database_released_when_its_holder_dies(
    tmp_path: Path,
) -> None:
    database = tmp_path / "slakeeper.db"
    first = elector_for(f"sqlite:///{database}", name="scheduler", round_interval=ROUND)
    second = elector_for(f"sqlite:///{database}", name="scheduler", round_interval=ROUND)
    assert isinstance(first, FileLockElector)
    assert first.path == tmp_path / "slakeeper.db-leader"
    assert first.campaign() and not second.campaign()
    first.resign()
    assert second.campaign()
    second.resign()

    holder = holder_process(f"FileLockElector(Path({str(first.path)!r}))")
    try:
        assert first.path.read_text().strip() == str(holder.pid)
        assert not second.campaign()
    finally:
        killed(holder)
    assert second.campaign()
    second.resign()


def test_a_database_in_memory_has_one_process_which_leads() -> None:
    elector: Elector = elector_for("sqlite://", name="scheduler", round_interval=ROUND)
    assert isinstance(elector, SoleElector)
    assert elector.campaign()


def test_an_unreachable_database_leaves_no_leader_and_says_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    unreachable = "postgresql://postgres@127.0.0.1:1/slakeeper"
    leadership = Leadership(
        elector_for(unreachable, name="scheduler", round_interval=ROUND), interval=ROUND
    )
    with caplog.at_level(logging.INFO, logger="core.leadership"):
        assert leadership.round() is False
    assert not leadership.leading
    assert "cannot tell who leads the scheduled jobs" in caplog.text
    leadership.stop()
