"""What the scheduler exports: the runs and failures of each job (durable counters, the same on
every replica), the failures this process saw, and whether this process leads the jobs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

__all__ = [
    "JOB_FAILURES",
    "JOB_RUNS",
    "LEADER",
    "PROCESS_JOB_FAILURES",
    "JobFailuresCollector",
    "LeaderCollector",
]

JOB_FAILURES = "slakeeper_scheduler_job_failures_total"
# Every run of every job, on whichever replica leads: `increase(...[10m])` of a job is the
# number of its intervals in 10 minutes, not that times the replicas.
JOB_RUNS = "slakeeper_scheduler_job_runs_total"
# The same failures counted in this process' memory: they show while the database, where the
# shared counter lives, is unreachable (the outage that failed the jobs, most likely).
PROCESS_JOB_FAILURES = "slakeeper_scheduler_job_failures_in_process_total"
LEADER = "slakeeper_scheduler_leader"


class _CountsFailures(Protocol):
    @property
    def failures(self) -> Mapping[str, int]: ...


class JobFailuresCollector(Collector):
    """`slakeeper_scheduler_job_failures_in_process_total{job}`, from the scheduler's memory."""

    def __init__(self, scheduler: _CountsFailures) -> None:
        self._scheduler = scheduler

    def describe(self) -> Iterable[Metric]:
        return self._families()

    def collect(self) -> Iterable[Metric]:
        return self._families()

    def _families(self) -> Iterable[Metric]:
        family = CounterMetricFamily(
            PROCESS_JOB_FAILURES,
            "Scheduled job runs that raised in this process since it started, counted in memory "
            "(shown during a database outage, when slakeeper_scheduler_job_failures_total "
            "cannot be updated).",
            labels=("job",),
        )
        for job, count in sorted(self._scheduler.failures.items()):
            family.add_metric((job,), count)
        yield family


class LeaderCollector(Collector):
    """`slakeeper_scheduler_leader`: 1 while this process leads the scheduled jobs, else 0."""

    def __init__(self, leading: Callable[[], bool]) -> None:
        self._leading = leading

    def describe(self) -> Iterable[Metric]:
        yield self._family(0)

    def collect(self) -> Iterable[Metric]:
        yield self._family(1 if self._leading() else 0)

    @staticmethod
    def _family(value: int) -> Metric:
        return GaugeMetricFamily(
            LEADER,
            "1 while this process leads the scheduled jobs (only the leader runs them), else 0; "
            "the sum over the replicas is 1.",
            value=value,
        )
