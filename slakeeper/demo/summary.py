"""What the database holds after `slakeeper demo`, and the summary a person reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from availability.compliance import ComplianceReport
from availability.models import MaintenanceWindow
from availability.report import build_report
from collector.models import AlertInstance
from incident.models import EscalationFiring, Incident
from rules.policy import RuleFile

__all__ = ["DemoSummary", "format_summary", "summarise"]


@dataclass(frozen=True)
class DemoSummary:
    """What the database holds after the demo, and each month's compliance report."""

    services: list[str]
    webhooks: int
    alerts: int
    incidents_by_priority: dict[str, int]
    incidents_by_state: dict[str, int]
    flapping_incidents: int
    response_breaches: int
    resolution_breaches: int
    escalations: int
    maintenance_windows: int
    recurring_windows: int
    reports: list[ComplianceReport]


def summarise(
    session: Session,
    rules: RuleFile,
    services: list[str],
    webhooks: int,
    months: Sequence[tuple[int, int]],
    now: datetime,
) -> DemoSummary:
    """Count what the demo loaded and build each month's report."""

    def count(*where: Any) -> int:
        return session.scalar(select(func.count()).select_from(Incident).where(*where)) or 0

    windows = select(func.count()).where(MaintenanceWindow.deleted_at.is_(None))
    return DemoSummary(
        services=services,
        webhooks=webhooks,
        alerts=session.scalar(select(func.count()).select_from(AlertInstance)) or 0,
        incidents_by_priority=_counts(session, Incident.priority),
        incidents_by_state=_counts(session, Incident.state),
        flapping_incidents=count(Incident.flap_count > 0),
        response_breaches=count(Incident.response_breached.is_(True)),
        resolution_breaches=count(Incident.resolution_breached.is_(True)),
        escalations=session.scalar(select(func.count()).select_from(EscalationFiring)) or 0,
        maintenance_windows=session.scalar(windows.select_from(MaintenanceWindow)) or 0,
        recurring_windows=session.scalar(
            windows.select_from(MaintenanceWindow).where(MaintenanceWindow.cron.is_not(None))
        )
        or 0,
        reports=[
            build_report(session, rules=rules, year=year, month=month, now=now)
            for year, month in months
        ],
    )


def _counts(session: Session, column: Any) -> dict[str, int]:
    rows = session.execute(select(column, func.count()).group_by(column).order_by(column))
    return {str(value): int(number) for value, number in rows}


def format_summary(summary: DemoSummary) -> str:
    """The summary a person reads after the demo: volumes, then each month's availability."""
    priorities = ", ".join(f"{p} {n}" for p, n in summary.incidents_by_priority.items())
    states = ", ".join(f"{s} {n}" for s, n in summary.incidents_by_state.items())
    lines = [
        f"services            {len(summary.services)}: {', '.join(summary.services)}",
        f"alert instances     {summary.alerts} (from {summary.webhooks} webhook notifications)",
        f"incidents           {sum(summary.incidents_by_priority.values())}: {priorities}",
        f"                    {states}; {summary.flapping_incidents} flapped",
        f"SLA breaches        {summary.response_breaches} response, "
        f"{summary.resolution_breaches} resolution; {summary.escalations} escalation steps",
        f"maintenance         {summary.maintenance_windows} windows "
        f"({summary.recurring_windows} recurring)",
    ]
    for report in summary.reports:
        lines += [
            "",
            f"Availability {report.month} ({report.timezone}, to {report.end:%Y-%m-%d %H:%M} UTC):",
        ]
        lines.append(
            f"  {'service':<16}{'availability':>13}{'target':>9}{'downtime':>10}"
            f"{'maintenance':>13}{'incidents':>11}  met"
        )
        for row in report.services.itertuples(index=False):
            lines.append(
                f"  {row.service:<16}{row.availability_ratio:>12.3%}{row.target_ratio:>9.1%}"
                f"{_duration(row.downtime_seconds):>10}{_duration(row.maintenance_seconds):>13}"
                f"{row.incidents:>11}  {'yes' if row.met else 'NO'}"
            )
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"
