"""The signed month's jobs on the scheduler: sending the report outbox, queueing the report
on the rule file's `report.schedule`, and watching closed months for changes since close.

The schedule is a cron job in the rule file's time zone, read as cron reads it (0 and 7 are
Sunday: APScheduler 3's own `CronTrigger` counts weekdays from Monday). The sender keeps it as
the rule file in force says, so a reload that changes it takes effect within a round.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.base import BaseTrigger
from croniter import croniter
from sqlalchemy import Engine

from core.database import writing_session
from ledger.delivery import enqueue_scheduled
from ledger.jobs import watch_changes
from ledger.sending import ReportOutbound, run_report_sender
from rules.policy import RuleFile

__all__ = ["REPORT_SCHEDULE", "CrontabTrigger", "LedgerJobs"]

log = logging.getLogger(__name__)

REPORT_SCHEDULE = "report-schedule"
# A scheduled run missed by less than this (the process was down, or busy) still happens.
_SCHEDULE_GRACE = timedelta(hours=1)


class CrontabTrigger(BaseTrigger):  # type: ignore[misc]  # APScheduler is untyped
    """Fires at the times a five-field crontab expression names in `zone`."""

    def __init__(self, expression: str, zone: ZoneInfo) -> None:
        self.expression = expression
        self.zone = zone

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        start = (previous_fire_time or now).astimezone(self.zone)
        following: datetime = croniter(self.expression, start).get_next(datetime)
        return following

    def __str__(self) -> str:
        return f"crontab[{self.expression}, {self.zone.key}]"


class LedgerJobs:
    """The jobs' bodies, against one database, with the rules `rules()` returns and the time
    `clock()` gives; `keep_schedule` adds, moves or removes the schedule's cron job."""

    def __init__(
        self,
        engine: Engine,
        *,
        rules: Callable[[], RuleFile],
        clock: Callable[[], datetime],
        scheduler: BaseScheduler,
        outbound: ReportOutbound,
        until: Callable[[], bool] = lambda: False,
    ) -> None:
        self._engine = engine
        self._rules = rules
        self._clock = clock
        self._scheduler = scheduler
        self._outbound = outbound
        self._until = until
        self._schedule: tuple[str, str] | None = None

    def send_reports(self) -> None:
        """Send the due report deliveries (after keeping the schedule as the rules say)."""
        self.keep_schedule()
        run_report_sender(
            self._engine,
            rules=self._rules,
            outbound=self._outbound,
            clock=self._clock,
            until=self._until,
        )

    def queue_scheduled_reports(self) -> None:
        """Queue the previous month's report for the scheduled run just passed."""
        with writing_session(self._engine) as session:
            month = enqueue_scheduled(session, rules=self._rules(), now=self._clock())
        if month is not None:
            log.info("the report of %s is queued for its recipients (schedule)", month)

    def watch_changes(self) -> None:
        """Measure closed months again; record what changed since their close."""
        found = watch_changes(self._engine, rules=self._rules(), now=self._clock())
        if found:
            log.info("%d changes since close found in closed months", found)

    def keep_schedule(self) -> None:
        """Schedule the report's cron job as the rule file in force says (none without a
        schedule or recipients)."""
        rules = self._rules()
        report = rules.spec.report
        wanted = None
        if report.schedule is not None and report.recipients:
            wanted = (report.schedule, rules.timezone.key)
        if wanted == self._schedule:
            return
        if self._schedule is not None:
            self._scheduler.remove_job(REPORT_SCHEDULE)
        if wanted is not None:
            self._scheduler.add_job(
                self.queue_scheduled_reports,
                CrontabTrigger(wanted[0], rules.timezone),
                id=REPORT_SCHEDULE,
                name=REPORT_SCHEDULE,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=int(_SCHEDULE_GRACE.total_seconds()),
            )
            log.info("the monthly report is scheduled at %s (%s)", *wanted)
        self._schedule = wanted
