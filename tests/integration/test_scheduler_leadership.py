"""Schedulers of several replicas on one database: only the leader's run the jobs, each run
is counted once in the shared counter, and when the leader stops another takes over."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from core.counters import read_counters
from core.database import create_database_engine, writing_session
from slakeeper.job_metrics import JOB_RUNS, LEADER, LeaderCollector
from slakeeper.scheduler import Intervals, JobScheduler
from tests.integration.test_jobs import T0, rule_file

CHECK = timedelta(seconds=0.3)
QUICK = Intervals(
    sla=timedelta(seconds=0.2),
    outbox=timedelta(seconds=0.2),
    heartbeat=timedelta(seconds=0.2),
    reports=timedelta(hours=1),
    watch=timedelta(hours=1),
)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_database_engine(database_url)
    yield engine
    engine.dispose()


def runs(engine: Engine, job: str) -> float:
    with writing_session(engine) as session:
        counted = read_counters(session).get(JOB_RUNS, [])
    return sum(value for labels, value in counted if labels == {"job": job})


def eventually(condition: Callable[[], bool], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def replica(engine: Engine) -> JobScheduler:
    rules = rule_file()
    return JobScheduler(
        engine, rules=lambda: rules, clock=lambda: T0, intervals=QUICK, leader_check=CHECK
    )


def gauge(scheduler: JobScheduler) -> float | None:
    registry = CollectorRegistry()
    registry.register(LeaderCollector(scheduler.leadership_holds))
    return registry.get_sample_value(LEADER)


def test_of_three_replicas_only_the_leader_runs_the_jobs_and_another_takes_over(
    database_url: str, engine: Engine
) -> None:
    # Each replica with an engine of its own, as each process has.
    engines = [create_database_engine(database_url) for _ in range(3)]
    replicas = [replica(each) for each in engines]
    try:
        for each in replicas:
            each.start()
        assert [gauge(each) for each in replicas] == [1, 0, 0]
        before, started = runs(engine, "sla"), time.monotonic()
        time.sleep(2)
        ran, elapsed = runs(engine, "sla") - before, time.monotonic() - started
        # Every 0.2 s once, not three times.
        assert elapsed / 0.2 / 2 <= ran <= elapsed / 0.2 + 2

        replicas[0].shutdown()
        eventually(lambda: [gauge(each) for each in replicas[1:]].count(1) == 1, "another to lead")
        after = runs(engine, "sla")
        eventually(lambda: runs(engine, "sla") >= after + 3, "the new leader to run the jobs")
    finally:
        for scheduler in replicas:
            scheduler.shutdown()
        for own in engines:
            own.dispose()


def test_a_scheduler_that_never_started_has_no_leadership_to_release(engine: Engine) -> None:
    scheduler = replica(engine)
    assert not scheduler.leadership_holds()
    scheduler.shutdown()
