"""The scheduled jobs of one installation, on an APScheduler `BackgroundScheduler` (UTC).

- `sla` (every 15 s): record breaches that time alone caused, then fire due escalation steps;
- `outbox` (every 5 s): send due notifications until none is left;
- `reconcile` (every 60 s, only with an Alertmanager URL): repair what webhooks missed;
- `silences` (every 60 s, only with an Alertmanager URL): silence the maintenance of the day
  ahead in Alertmanager, expire the silences of windows deleted or edited away;
- `heartbeat` (every 15 s): record that slakeeper runs; a gap of more than a minute in these
  records (no scheduler ran anywhere) is blind time for every service (`availability.blind`);
- `reports` (every 30 s): send the monthly report's due deliveries (`ledger.sending`);
- `report-schedule` (the rule file's `report.schedule`, in its time zone; added, moved or
  removed by `reports` as the rules say): queue the previous month's report;
- `watch` (every 5 min): record closed months' changes since close (`ledger.jobs`);
- `housekeeping` (every hour): delete what is past retention, in batches (`housekeeping.jobs`).

Each job runs at most one instance at a time; runs missed while the process was busy or
asleep collapse into one. A job that raises is logged by APScheduler (with its traceback),
counted in `slakeeper_scheduler_job_failures_total{job}`, and runs again at its next time.

Every job is safe to run in several processes at once (the database decides), but one
scheduler per installation is enough: `serve` runs it in its single process, or in the
supervisor when it has several workers; `serve --no-scheduler` plus `slakeeper scheduler`
run it apart. With several replicas, each runs a scheduler but only the leader runs jobs
(`core.leadership`: an advisory lock on PostgreSQL, a file lock beside a SQLite file): the
others' executor drops their runs, whatever the job, and they try to lead every few seconds.
Runs are counted in `slakeeper_scheduler_job_runs_total{job}` (docs/scaling.md).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from collector.heartbeats import SELF_GAP, SELF_SOURCE, record_span
from core.counters import add_to_counters, counter_key
from core.database import create_database_engine, error_summary, writing_session
from core.leadership import Leadership, elector_for
from housekeeping.jobs import HousekeepingJob
from housekeeping.policy import Retention
from incident.jobs import run_sla_checks
from ledger.sending import ReportOutbound
from oncall.delivery import Outbound, Transport
from oncall.jobs import run_sender
from rules.policy import RuleFile
from rules.reloading import ActiveRules
from slakeeper.intervals import Intervals
from slakeeper.job_metrics import (
    JOB_FAILURES,
    JOB_RUNS,
    PROCESS_JOB_FAILURES,
    JobFailuresCollector,
)
from slakeeper.ledger_jobs import LedgerJobs
from slakeeper.outbound import outbound_of
from slakeeper.settings import Settings

__all__ = [
    "JOB_FAILURES",
    "JOB_RUNS",
    "LEADERSHIP_LOCK",
    "PROCESS_JOB_FAILURES",
    "Intervals",
    "outbound_of",
    "JobFailuresCollector",
    "JobScheduler",
    "running_jobs",
]

log = logging.getLogger(__name__)

# The name the advisory lock's key is made from (`core.leadership.advisory_lock_key`).
LEADERSHIP_LOCK = "slakeeper:scheduler"
DEFAULT_LEADER_CHECK = timedelta(seconds=5)
DEFAULT_INTERVALS = Intervals()
# One slow request must not hold a whole sender batch past the outbox lease.
_REQUEST_TIMEOUT = httpx.Timeout(5.0)

Clock = Callable[[], datetime]


class _LeaderOnlyExecutor(ThreadPoolExecutor):  # type: ignore[misc]  # APScheduler is untyped
    """Runs a job only while `leading()`; elsewhere the run is dropped (and the job's next run
    time moves on as if it had run), so every job, present or future, follows the leader."""

    def __init__(self, leading: Callable[[], bool]) -> None:
        super().__init__()
        self._leading = leading

    def submit_job(self, job: Job, run_times: list[datetime]) -> None:
        if self._leading():
            super().submit_job(job, run_times)


class JobScheduler:
    """The jobs against one database, with the rules `rules()` returns and the time `clock()`
    gives; nothing runs before `start()`, and `shutdown()` waits for running jobs. Jobs run
    only while this process leads (`leadership`, by default elected through the database)."""

    def __init__(
        self,
        engine: Engine,
        *,
        rules: Callable[[], RuleFile],
        clock: Clock,
        alertmanager_url: str | None = None,
        intervals: Intervals = DEFAULT_INTERVALS,
        reconcile_grace: timedelta | None = None,
        receivers: Collection[str] = (),
        external_urls: Collection[str] = (),
        outbound: Outbound | None = None,
        chromium: str = "chromium",
        leadership: Leadership | None = None,
        leader_check: timedelta = DEFAULT_LEADER_CHECK,
        retention: Retention | None = None,
    ) -> None:
        self._engine = engine
        self.leadership = leadership or Leadership(
            elector_for(engine.url, name=LEADERSHIP_LOCK, round_interval=leader_check),
            interval=leader_check,
        )
        self._external_urls = tuple(external_urls)
        self._foreign_seen = 0
        self._reconcile_grace = reconcile_grace
        self._receivers = tuple(receivers)
        self._rules = rules
        self._clock = clock
        self._alertmanager_url = alertmanager_url
        self._stopping = threading.Event()
        self._client = httpx.Client(timeout=_REQUEST_TIMEOUT)
        self._transport = Transport(self._client, outbound or Outbound())
        _quiet_routine_logs()
        self._scheduler = BackgroundScheduler(
            timezone=UTC, executors={"default": _LeaderOnlyExecutor(self.leadership_holds)}
        )
        self._scheduler.add_listener(self._count_run, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        self._failures_lock = threading.Lock()
        smtp, public_url = self._transport.outbound.smtp, self._transport.outbound.public_url
        self._ledger = LedgerJobs(
            engine,
            rules=rules,
            clock=clock,
            scheduler=self._scheduler,
            outbound=ReportOutbound(self._client, smtp, public_url, chromium),
            until=self._should_stop,
        )
        self._jobs = self._job_table(intervals, retention)
        # From zero for every job, so that rate() and increase() work from the first failure.
        self._failures: dict[str, int] = dict.fromkeys(self._jobs, 0)

    def _job_table(
        self, intervals: Intervals, retention: Retention | None
    ) -> dict[str, tuple[Callable[[], None], timedelta]]:
        housekeeping = HousekeepingJob(
            self._engine,
            rules=self._rules,
            clock=self._clock,
            retention=retention,
            until=self._should_stop,
        )
        jobs: dict[str, tuple[Callable[[], None], timedelta]] = {
            "sla": (self._check_sla, intervals.sla),
            "outbox": (self._send, intervals.outbox),
            "heartbeat": (self._beat, intervals.heartbeat),
            "reports": (self._ledger.send_reports, intervals.reports),
            "watch": (self._ledger.watch_changes, intervals.watch),
            "housekeeping": (housekeeping, intervals.housekeeping),
        }
        if self._alertmanager_url is not None:
            jobs["reconcile"] = (self._reconcile, intervals.reconcile)
            jobs["silences"] = (self._silence_maintenance, intervals.silences)
        return jobs

    @classmethod
    def for_settings(
        cls, engine: Engine, settings: Settings, *, rules: Callable[[], RuleFile], clock: Clock
    ) -> JobScheduler:
        """The jobs as `settings` configure them."""
        return cls(
            engine,
            rules=rules,
            clock=clock,
            alertmanager_url=settings.alertmanager_url,
            intervals=Intervals.of(settings),
            reconcile_grace=timedelta(seconds=settings.reconcile_grace_seconds),
            receivers=settings.alertmanager_receivers,
            external_urls=settings.alertmanager_external_urls,
            outbound=outbound_of(settings),
            chromium=settings.chromium_path,
            leader_check=timedelta(seconds=settings.leader_check_seconds),
            retention=settings.retention(),
        )

    @property
    def job_ids(self) -> list[str]:
        return sorted(self._jobs)

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def leadership_holds(self) -> bool:
        """Whether this process leads the jobs now."""
        return self.leadership.leading

    def _should_stop(self) -> bool:
        # A sender working through a batch stops between items when leadership is lost.
        return self._stopping.is_set() or not self.leadership.leading

    def start(self) -> None:
        """Start the jobs; each first runs at once (if this process leads), then at its
        interval."""
        self.leadership.start()
        started = datetime.now(UTC)
        for job_id, (job, interval) in self._jobs.items():
            self._add(job_id, job, interval, first_run=started)
        self._scheduler.start()
        log.info("scheduler started: %s", ", ".join(self.job_ids))

    def shutdown(self) -> None:
        """Stop scheduling, let running jobs finish their batch, let leadership go, close
        the HTTP client."""
        self._stopping.set()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
            self.leadership.stop()
        self._client.close()
        log.info("scheduler stopped")

    def _add(
        self, job_id: str, job: Callable[[], None], interval: timedelta, *, first_run: datetime
    ) -> None:
        self._scheduler.add_job(
            job,
            "interval",
            seconds=interval.total_seconds(),
            id=job_id,
            name=job_id,
            max_instances=1,
            coalesce=True,
            # A run late by less than one interval still happens; a later one is near anyway.
            misfire_grace_time=max(1, int(interval.total_seconds())),
            next_run_time=first_run,
        )

    def _check_sla(self) -> None:
        breached, escalated = run_sla_checks(self._engine, rules=self._rules, clock=self._clock)
        if breached or escalated:
            log.info(
                "%d incidents breached a target, %d escalation steps fired", breached, escalated
            )

    def _send(self) -> None:
        run_sender(
            self._engine,
            rules=self._rules,
            transport=self._transport,
            clock=self._clock,
            until=self._should_stop,
        )

    def _beat(self) -> None:
        # Several replicas may write at once: each extends the span still open, or opens one.
        now = self._clock()
        with writing_session(self._engine) as session:
            record_span(session, source=SELF_SOURCE, first_at=now, last_at=now, tolerance=SELF_GAP)

    def _reconcile(self) -> None:
        assert self._alertmanager_url is not None
        # Imported when first needed: an installation without Alertmanager never loads it.
        from incident.reconcile import reconcile_alerts
        from incident.repairs import DEFAULT_GRACE

        report = reconcile_alerts(
            self._engine,
            rules=self._rules(),
            client=self._client,
            alertmanager_url=self._alertmanager_url,
            now=self._clock(),
            grace=DEFAULT_GRACE if self._reconcile_grace is None else self._reconcile_grace,
            receivers=self._receivers or None,
            external_urls=self._external_urls,
        )
        if report.added or report.resolved:
            log.info(
                "reconciliation added %d alerts and resolved %d", report.added, report.resolved
            )
        if report.foreign != self._foreign_seen:
            # Said when it changes, not every run: an operator whose Alertmanager's external
            # URL is not configured learns why its alerts are left alone.
            self._foreign_seen = report.foreign
            if report.foreign:
                log.info(
                    "reconciliation leaves %d firing alerts alone: neither delivered with one of "
                    "this Alertmanager's external URLs nor found in its list "
                    "(see SLAKEEPER_ALERTMANAGER_EXTERNAL_URLS)",
                    report.foreign,
                )

    def _silence_maintenance(self) -> None:
        assert self._alertmanager_url is not None
        # Imported when first needed, as reconciliation is.
        from availability.silencing import sync_silences

        # Failed silences are logged there, one line each, and kept failed (retried next run).
        done = sync_silences(
            self._engine,
            rules=self._rules(),
            client=self._client,
            alertmanager_url=self._alertmanager_url,
            now=self._clock(),
        )
        if done.created or done.updated or done.expired:
            log.info(
                "maintenance silences: %d created, %d updated, %d expired",
                done.created,
                done.updated,
                done.expired,
            )

    @property
    def failures(self) -> dict[str, int]:
        """Failed runs per job in this process since it started."""
        with self._failures_lock:
            return dict(self._failures)

    def _count_run(self, event: JobExecutionEvent) -> None:
        # A failure: APScheduler has logged the traceback; the counter is what an alert rule
        # can watch.
        counts = {counter_key(JOB_RUNS, job=event.job_id): 1}
        if event.exception is not None:
            with self._failures_lock:
                self._failures[event.job_id] = self._failures.get(event.job_id, 0) + 1
            counts[counter_key(JOB_FAILURES, job=event.job_id)] = 1
        try:
            with writing_session(self._engine) as session:
                add_to_counters(session, counts)
        except SQLAlchemyError as error:
            # Most likely the outage that failed the job: it is logged already.
            log.warning("cannot count the run of job %s: %s", event.job_id, error_summary(error))


def _quiet_routine_logs() -> None:
    # APScheduler logs each run, a line every five seconds; httpx logs each request with its
    # URL, and a webhook URL may carry a secret. Unless configured otherwise: warnings only
    # (a job's exception is an error, and still logged with its traceback).
    for name in ("apscheduler", "httpx"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


def _wall_clock() -> datetime:
    return datetime.now(UTC)


@contextmanager
def running_jobs(settings: Settings) -> Iterator[ActiveRules]:
    """Run the jobs with an engine and rules of their own while the block runs; yields the
    rules so the caller can reload them. Raises `RuleFileError` for an invalid rule file."""
    active_rules = ActiveRules(
        settings.rules, default_timezone=settings.timezone, clock=_wall_clock
    )
    engine = create_database_engine(settings.database_url)
    scheduler = JobScheduler.for_settings(
        engine, settings, rules=lambda: active_rules.current, clock=_wall_clock
    )
    try:
        scheduler.start()
        yield active_rules
    finally:
        scheduler.shutdown()
        engine.dispose()
