"""The scheduler running the jobs: in-process, inside the app, in `serve`, and apart as
`slakeeper scheduler` processes, sending to a real webhook receiver on loopback."""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, Select, func, select

from core.counters import read_counters
from core.database import create_database_engine, writing_session
from core.leadership import Leadership, SoleElector
from incident.models import EscalationFiring, IncidentEvent, Notification
from rules.policy import RuleFile
from slakeeper.app import create_app
from slakeeper.scheduler import (
    JOB_FAILURES,
    PROCESS_JOB_FAILURES,
    Intervals,
    JobFailuresCollector,
    JobScheduler,
)
from slakeeper.settings import Settings
from tests.conftest import fresh_postgres_database
from tests.integration.conftest import AppFactory
from tests.integration.processes import SLAKEEPER, Server, clean_environment
from tests.integration.receiver import WebhookReceiver
from tests.integration.test_jobs import RULES_TEMPLATE, T0, open_at, rule_file

FAST = Intervals(
    sla=timedelta(seconds=0.05),
    outbox=timedelta(seconds=0.05),
    heartbeat=timedelta(seconds=0.05),
    reports=timedelta(seconds=0.05),
    watch=timedelta(seconds=0.05),
    housekeeping=timedelta(seconds=0.05),
)


def eventually(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    """Poll `condition` until it holds; fail with `what` if it does not in time."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def count(engine: Engine, query: Select[int]) -> int:
    with engine.connect() as connection:
        return connection.execute(query).scalar_one()


def total(engine: Engine, counter: str) -> float:
    with writing_session(engine) as session:
        return sum(value for _, value in read_counters(session).get(counter, []))


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_database_engine(database_url)
    yield engine
    engine.dispose()


def paths(receiver: WebhookReceiver) -> list[str]:
    return [request.path for request in receiver.received]


# In-process


def test_the_scheduler_escalates_and_sends_then_stops_cleanly(
    engine: Engine, receiver: WebhookReceiver
) -> None:
    rules = rule_file(receiver.url)
    open_at(engine, T0, rules=rules)
    scheduler = JobScheduler(
        engine, rules=lambda: rules, clock=lambda: T0 + timedelta(minutes=10), intervals=FAST
    )
    assert scheduler.job_ids == [
        "heartbeat",
        "housekeeping",
        "outbox",
        "reports",
        "sla",
        "watch",
    ]
    scheduler.start()
    try:
        eventually(lambda: "/manager1" in paths(receiver), "the escalation to be sent")
    finally:
        scheduler.shutdown()
    assert not scheduler.running
    assert sorted(paths(receiver)) == ["/lead", "/manager1", "/on-duty"]
    assert count(engine, select(func.count()).select_from(EscalationFiring)) == 1


def test_reconciliation_and_silences_are_scheduled_only_with_an_alertmanager_url(
    engine: Engine,
) -> None:
    rules = rule_file()
    scheduler = JobScheduler(
        engine, rules=lambda: rules, clock=lambda: T0, alertmanager_url="http://127.0.0.1:9093"
    )
    assert scheduler.job_ids == [
        "heartbeat",
        "housekeeping",
        "outbox",
        "reconcile",
        "reports",
        "silences",
        "sla",
        "watch",
    ]
    scheduler.shutdown()  # never started: only closes its HTTP client


def test_a_job_that_raises_is_logged_and_counted_and_runs_again(
    engine: Engine, receiver: WebhookReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    rules = rule_file(receiver.url)
    open_at(engine, T0, rules=rules)
    calls = 0

    def flaky_rules() -> RuleFile:
        nonlocal calls
        calls += 1
        if calls <= 2:
            raise RuntimeError("rule store unavailable")
        return rules

    scheduler = JobScheduler(
        engine, rules=flaky_rules, clock=lambda: T0 + timedelta(minutes=10), intervals=FAST
    )
    scheduler.start()
    try:
        eventually(lambda: "/manager1" in paths(receiver), "the jobs to recover")
    finally:
        scheduler.shutdown()
    assert total(engine, JOB_FAILURES) == 2
    failures = [
        record
        for record in caplog.records
        if record.name.startswith("apscheduler") and record.levelno == logging.ERROR
    ]
    assert len(failures) == 2
    assert all(
        record.exc_info and isinstance(record.exc_info[1], RuntimeError) for record in failures
    )


def test_an_app_runs_the_scheduler_only_when_asked(
    database_url: str, make_app: AppFactory, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    default = make_app()
    with TestClient(default):
        assert default.state.scheduler is None
    rules_path = tmp_path / "rules.yaml"
    rules_path.write_text(RULES_TEMPLATE % {"url": receiver.url})
    engine = create_database_engine(database_url)
    open_at(engine, T0, rules=rule_file(receiver.url))
    settings = Settings(database_url=database_url, rules=rules_path)
    app = create_app(settings, clock=lambda: T0, run_scheduler=True)
    with TestClient(app):
        scheduler: JobScheduler = app.state.scheduler
        assert scheduler.running
        eventually(lambda: len(receiver.received) == 2, "the app's scheduler to send")
    assert not scheduler.running
    engine.dispose()


# Real processes


class SchedulerProcess:
    """`slakeeper scheduler` as a child process, logging to a file."""

    def __init__(self, log: Path, process: subprocess.Popen[str]) -> None:
        self.log = log
        self.process = process

    def output(self) -> str:
        return self.log.read_text()

    def wait_started(self) -> None:
        def started() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"scheduler exited:\n{self.output()}")
            return "scheduler started" in self.output()

        eventually(started, "`slakeeper scheduler` to start")

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)


@pytest.fixture
def start_scheduler(tmp_path: Path) -> Iterator[Callable[..., SchedulerProcess]]:
    started: list[subprocess.Popen[str]] = []

    def start(**env: str) -> SchedulerProcess:
        log = tmp_path / f"scheduler-{len(started)}.log"
        with open(log, "w") as output:
            process = subprocess.Popen(
                [SLAKEEPER, "scheduler"],
                cwd=tmp_path,
                env=clean_environment(**env),
                stdout=output,
                stderr=subprocess.STDOUT,
                text=True,
            )
        started.append(process)
        return SchedulerProcess(log, process)

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def write_rules(directory: Path, receiver: WebhookReceiver) -> Path:
    path = directory / "rules.yaml"
    path.write_text(RULES_TEMPLATE % {"url": receiver.url})
    return path


def open_now(engine: Engine, receiver: WebhookReceiver, *, ago: timedelta) -> int:
    """An incident opened `ago` before the wall clock, which real processes run on."""
    return open_at(engine, datetime.now(UTC) - ago, rules=rule_file(receiver.url))


def test_serve_with_no_scheduler_does_not_send_and_slakeeper_scheduler_does(
    database_url: str,
    engine: Engine,
    receiver: WebhookReceiver,
    serve: Callable[..., Server],
    start_scheduler: Callable[..., SchedulerProcess],
    tmp_path: Path,
) -> None:
    env = {
        "SLAKEEPER_DATABASE_URL": database_url,
        "SLAKEEPER_RULES": str(write_rules(tmp_path, receiver)),
    }
    server = serve("--no-scheduler", **env)
    open_now(engine, receiver, ago=timedelta(0))  # two messages: to on-duty and lead
    # An absence cannot be polled for: wait out one sender interval of a scheduler.
    time.sleep(Intervals().outbox.total_seconds() + 1)
    assert receiver.received == []
    assert count(engine, select(func.count()).where(Notification.state == "pending")) == 2
    log = (tmp_path / f"serve-{server.url.rsplit(':', 1)[1]}.log").read_text()
    assert "scheduler started" not in log

    scheduler = start_scheduler(**env)
    scheduler.wait_started()
    eventually(lambda: len(receiver.received) == 2, "`slakeeper scheduler` to send")
    assert sorted(paths(receiver)) == ["/lead", "/on-duty"]
    assert scheduler.stop() == 0
    assert "stopping the scheduled jobs" in scheduler.output()
    assert "scheduler stopped" in scheduler.output()


def test_serve_runs_one_scheduler_even_with_several_workers(
    receiver: WebhookReceiver, serve: Callable[..., Server], tmp_path: Path
) -> None:
    with fresh_postgres_database("slakeeper_workers") as url:
        engine = create_database_engine(url)
        incident = open_now(engine, receiver, ago=timedelta(minutes=15))
        rules = write_rules(tmp_path, receiver)
        server = serve("--workers", "2", SLAKEEPER_DATABASE_URL=url, SLAKEEPER_RULES=str(rules))
        log = tmp_path / f"serve-{server.url.rsplit(':', 1)[1]}.log"
        eventually(
            lambda: log.read_text().count("Application startup complete") == 2,
            "both workers to start",
        )
        assert log.read_text().count("scheduler started") == 1
        eventually(lambda: "/manager1" in paths(receiver), "the escalation to be sent")
        assert sorted(paths(receiver)) == ["/lead", "/manager1", "/on-duty"]
        fired = select(func.count()).where(EscalationFiring.incident_id == incident)
        assert count(engine, fired) == 1
        engine.dispose()


def test_two_scheduler_processes_on_one_postgresql_database_escalate_exactly_once(
    receiver: WebhookReceiver, start_scheduler: Callable[..., SchedulerProcess], tmp_path: Path
) -> None:
    with fresh_postgres_database("slakeeper_replicas") as url:
        engine = create_database_engine(url)
        incidents = [open_now(engine, receiver, ago=timedelta(hours=2)) for _ in range(40)]
        env = {
            "SLAKEEPER_DATABASE_URL": url,
            "SLAKEEPER_RULES": str(write_rules(tmp_path, receiver)),
        }
        # Started together, so that their first passes overlap.
        replicas = [start_scheduler(**env), start_scheduler(**env)]
        for replica in replicas:
            replica.wait_started()
        # Per incident: opened (on-duty, lead), steps 1 (manager1) and 2 (manager2, vendor),
        # and the response breach (on-duty, lead).
        expected = 7 * len(incidents)
        sent = select(func.count()).where(Notification.state == "sent")
        eventually(lambda: count(engine, sent) == expected, "every notification to be sent")
        assert [replica.stop() for replica in replicas] == [0, 0]

        steps = select(EscalationFiring.incident_id, EscalationFiring.step_index)
        with engine.connect() as connection:
            fired = sorted(tuple(row) for row in connection.execute(steps))
            escalated = connection.execute(
                select(func.count()).where(IncidentEvent.kind == "escalated")
            ).scalar_one()
            breaches = connection.execute(
                select(func.count()).where(IncidentEvent.kind == "breach")
            ).scalar_one()
        assert fired == sorted((incident, step) for incident in incidents for step in (0, 1))
        assert (escalated, breaches) == (2 * len(incidents), len(incidents))
        assert total(engine, "slakeeper_escalations_total") == 2 * len(incidents)
        assert total(engine, "slakeeper_sla_breaches_total") == len(incidents)
        keys = [request.headers["Idempotency-Key"] for request in receiver.received]
        assert len(keys) == len(set(keys)) == expected
        escalation_keys = {key for key in keys if "/escalation/" in key}
        assert len(escalation_keys) == 3 * len(incidents)
        engine.dispose()


def test_job_failures_during_a_database_outage_are_counted_in_the_process(
    database_url: str,
) -> None:
    # The database is gone (nothing listens on port 1): every run fails, and the failure cannot
    # be added to the shared counter, which lives in that database.
    unreachable = (
        "sqlite:////nonexistent/dir/slakeeper.db"
        if database_url.startswith("sqlite")
        else "postgresql://postgres@127.0.0.1:1/slakeeper"
    )
    engine = create_database_engine(unreachable)
    # A leader whose database went away: it still leads for its lease (the election, through
    # that database, would leave no leader at all, and no job to fail).
    scheduler = JobScheduler(
        engine,
        rules=lambda: rule_file("http://127.0.0.1:1/"),
        clock=lambda: T0,
        intervals=FAST,
        leadership=Leadership(SoleElector(), interval=timedelta(seconds=5)),
    )
    registry = CollectorRegistry()
    registry.register(JobFailuresCollector(scheduler))
    assert registry.get_sample_value(PROCESS_JOB_FAILURES + "_total", {"job": "sla"}) is None
    assert registry.get_sample_value(PROCESS_JOB_FAILURES, {"job": "sla"}) == 0
    scheduler.start()
    try:
        eventually(lambda: min(scheduler.failures.values()) >= 2, "failures to be counted")
    finally:
        scheduler.shutdown()
        engine.dispose()
    for job in ("sla", "outbox"):
        assert (registry.get_sample_value(PROCESS_JOB_FAILURES, {"job": job}) or 0) >= 2
    # And /metrics of a server that runs the jobs shows the series.
    app = create_app(Settings(database_url=database_url), run_scheduler=True)
    with TestClient(app) as client:
        text = client.get("/metrics").text
    assert 'slakeeper_scheduler_job_failures_in_process_total{job="sla"} 0.0' in text


def test_slakeeper_scheduler_refuses_an_invalid_rule_file(tmp_path: Path) -> None:
    broken = tmp_path / "rules.yaml"
    broken.write_text("priorities: {P1: {respond: soon}}\n")
    result = subprocess.run(
        [SLAKEEPER, "scheduler", "--rules", str(broken)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=clean_environment(),
    )
    assert result.returncode == 2
    assert "invalid rule file" in result.stderr
