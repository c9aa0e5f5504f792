"""What housekeeping may delete, decided from values and `now` (no I/O).

Contract:

- Each table has its retention (None: kept forever). A row goes once it is older than its
  retention: deliveries by `received_at`, notification attempts and audit events by `at`,
  alert instances by `ends_at` (a firing instance has none, and never goes).
- An alert instance that can count in a month's figures (impact outage or degraded, under a
  service: its incident's, else its own) goes only when, besides its retention, every month
  from the first that it or its incident overlaps to the last (its incident's figures read
  its alerts' impacts), in that service's time zone (calendar months as
  `availability.periods` computes them), is *settled*: closed in the ledger (a record not
  reopened) and older than the months the ledger still measures again for changes since
  close (`ledger.watching`), which would otherwise take the deletion for a change.
- An instance that cannot count (impact none, or neither service nor incident) goes after
  its retention alone.

Months a service has settled form runs of consecutive months; an instance's months are
consecutive too, so they are all settled exactly when the instance (and its incident) lies
inside one run
(`settled_runs`). The SQL applies the runs; `alert_may_go` states the rule one instance at a
time, and the tests hold the two to each other.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from availability.periods import month_period, parse_month

__all__ = [
    "COUNTED_IMPACTS",
    "TABLES",
    "AlertFacts",
    "IncidentFacts",
    "Retention",
    "SettledRun",
    "alert_may_go",
    "months_overlapped",
    "settled_months",
    "settled_runs",
    "watched_from",
]

TABLES = ("deliveries", "alerts", "notification_attempts", "audit_events")
COUNTED_IMPACTS = ("outage", "degraded")
_FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Retention:
    """How long each table keeps its rows (None: forever), and how many go per transaction."""

    deliveries: timedelta | None = timedelta(days=30)
    alerts: timedelta | None = timedelta(days=400)
    notification_attempts: timedelta | None = timedelta(days=90)
    # Audit events are evidence (who changed a figure, who closed a month): kept two years,
    # longer than the alerts, so a dispute over last year's report can still be traced.
    audit_events: timedelta | None = timedelta(days=730)
    batch_size: int = 1000

    def __post_init__(self) -> None:
        for table in TABLES:
            kept = getattr(self, table)
            if kept is not None and kept <= timedelta(0):
                raise ValueError(f"the retention of {table} must be positive or None, got {kept}")
        if self.batch_size < 1:
            raise ValueError(f"the batch size must be at least 1, got {self.batch_size}")

    @classmethod
    def from_days(
        cls,
        *,
        deliveries: int,
        alerts: int,
        notification_attempts: int,
        audit_events: int,
        batch_size: int,
    ) -> Retention:
        """Retention in whole days, 0 meaning forever."""

        def days(value: int) -> timedelta | None:
            return timedelta(days=value) if value else None

        return cls(
            deliveries=days(deliveries),
            alerts=days(alerts),
            notification_attempts=days(notification_attempts),
            audit_events=days(audit_events),
            batch_size=batch_size,
        )

    def cutoff(self, table: str, now: datetime) -> datetime | None:
        """Rows of `table` older than this may go (None: none may)."""
        if table not in TABLES:
            raise ValueError(f"no retention for table {table!r}")
        kept: timedelta | None = getattr(self, table)
        return None if kept is None else now - kept


@dataclass(frozen=True, slots=True)
class SettledRun:
    """Consecutive settled months of a service, as [start, end) in UTC."""

    service: str
    start: datetime
    end: datetime


def watched_from(now: datetime, watched_for: timedelta) -> str:
    """The oldest month (YYYY-MM) the ledger still measures again at `now`."""
    return (now - watched_for).strftime("%Y-%m")


def settled_months(closed: Iterable[str], *, oldest_watched: str) -> set[str]:
    """The closed months that are no longer measured again."""
    return {month for month in closed if month < oldest_watched}


def _month_bounds(month: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    period = month_period(*parse_month(month), zone, now=_FAR_FUTURE)
    return period.start, period.end


def _next_month(month: str) -> str:
    year, number = parse_month(month)
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def settled_runs(service: str, months: Collection[str], zone: ZoneInfo) -> list[SettledRun]:
    """`months` of `service` merged into runs of consecutive months, oldest first."""
    runs: list[SettledRun] = []
    previous: str | None = None
    for month in sorted(months):
        start, end = _month_bounds(month, zone)
        if previous is not None and _next_month(previous) == month:
            runs[-1] = SettledRun(service, runs[-1].start, end)
        else:
            runs.append(SettledRun(service, start, end))
        previous = month
    return runs


def months_overlapped(start: datetime, end: datetime, zone: ZoneInfo) -> list[str]:
    """The months (in `zone`) that [start, end] touches: those it overlaps, or the one
    holding it when it is an instant."""
    local = start.astimezone(zone)
    month = f"{local.year:04d}-{local.month:02d}"
    found = [month]
    while True:
        month = _next_month(month)
        month_start, _ = _month_bounds(month, zone)
        if month_start >= end:
            return found
        found.append(month)


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    """What of an alert's incident decides whether the alert may go."""

    service: str
    started_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class AlertFacts:
    """What of an alert instance decides whether it may go."""

    status: str
    impact: str | None
    service: str | None
    starts_at: datetime
    ends_at: datetime | None
    incident_id: int | None = None
    incident: IncidentFacts | None = None  # None with an incident_id: the incident is unknown


def alert_may_go(
    alert: AlertFacts,
    *,
    now: datetime,
    retention: Retention,
    settled: Mapping[str, Collection[str]],
    zone_of: Callable[[str], ZoneInfo],
) -> bool:
    """Whether housekeeping may delete `alert` at `now`, with `settled` months per service."""
    cutoff = retention.cutoff("alerts", now)
    if alert.status != "resolved" or alert.ends_at is None or cutoff is None:
        return False
    if alert.ends_at >= cutoff:
        return False
    counted = alert.impact in COUNTED_IMPACTS
    if not counted or (alert.service is None and alert.incident_id is None):
        return True
    if alert.service is None:
        return False  # counted only under its incident's service: kept
    start, end = alert.starts_at, alert.ends_at
    if alert.incident_id is not None:
        incident = alert.incident
        if incident is None or incident.service != alert.service or not incident.resolved_at:
            return False  # unknown, moved to another service, or not over: kept
        start, end = min(start, incident.started_at), max(end, incident.resolved_at)
    months = settled.get(alert.service, ())
    return all(month in months for month in months_overlapped(start, end, zone_of(alert.service)))
