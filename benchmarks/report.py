"""How long the monthly compliance report and one service's month take, from the database.

Measures and prints; asserts nothing. Run: `.venv/bin/python -m benchmarks.report`
(`--databases sqlite,postgresql`, `--services 1000`, `--windows 100000`, `--runs 5`).

A fresh database per run gets `--windows` resolved outage-impact alerts spread over
`--services` services and over October 2026 (in the rule file's zone, Asia/Shanghai), a
third of them overlapping another, plus 2,000 incidents with SLA figures. The rows are
inserted directly (this measures the report, not ingestion). Then it times, median of
`--runs` after one warm-up: the whole report (`build_report`: every service's windows
read, measured, tabulated with pandas), its JSON, CSV and HTML renderings, and one service's
month (`service_availability`). Peak memory is Python's (tracemalloc, numpy included)
during one report.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from availability.html import render_html
from availability.periods import Period, month_period
from availability.rendering import report_csv, report_json
from availability.report import build_report
from availability.service import service_availability
from benchmarks.harness.databases import empty_database
from collector.models import AlertInstance
from core.database import create_database_engine
from incident.models import Incident
from rules.loader import DEFAULT_RULES, load_rule_file
from rules.policy import RuleFile
from slakeeper import migrate

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
YEAR, MONTH = 2026, 10


def populate(
    url: str,
    rules: RuleFile,
    services: int,
    windows: int,
    seed: int = 7,
    *,
    year: int = YEAR,
    month: int = MONTH,
    now: datetime = NOW,
) -> None:
    """Migrate a fresh database and insert the month's outage alerts and incidents (the
    month `year`-`month`, October 2026 unless told, as of `now`)."""
    engine = create_database_engine(url)
    migrate.upgrade(engine)
    period = month_period(year, month, rules.timezone, now=now)
    chance = random.Random(seed)
    alerts = _outage_alerts(period, services, windows, chance)
    incidents = _incidents(period, services, chance)
    with engine.begin() as connection:
        for offset in range(0, len(alerts), 10_000):
            connection.execute(insert(AlertInstance), alerts[offset : offset + 10_000])
        connection.execute(insert(Incident), incidents)
    engine.dispose()


def _outage_alerts(
    period: Period, services: int, windows: int, chance: random.Random
) -> list[dict[str, Any]]:
    """`windows` resolved outage alerts over the month, a third overlapping the one before."""
    span = (period.end - period.start).total_seconds()
    alerts: list[dict[str, Any]] = []
    for index in range(windows):
        service = f"svc{index % services:04d}"
        start = period.start + timedelta(seconds=chance.uniform(-3600, span))
        if index % 3 == 0 and alerts:
            start = alerts[-1]["starts_at"] + timedelta(seconds=chance.uniform(0, 300))
            service = alerts[-1]["service"]
        end = start + timedelta(seconds=chance.expovariate(1 / 600))
        alerts.append(
            {
                "fingerprint": f"{index:016x}",
                "starts_at": start,
                "ends_at": end,
                "status": "resolved",
                "labels": {"alertname": "Down", "service": service},
                "annotations": {},
                "generator_url": "",
                "source": "alertmanager",
                "receive_count": 2,
                "first_received_at": start,
                "last_received_at": end,
                "service": service,
                "level": "critical",
                "priority": "P1",
                "category": "hardware",
                "impact": "outage",
                "group_key": f"{service}/Down",
                "resolved_received_at": end,
            }
        )
    return alerts


def _incidents(period: Period, services: int, chance: random.Random) -> list[dict[str, Any]]:
    """2,000 closed incidents with their SLA figures, some of them breached."""
    span = (period.end - period.start).total_seconds()
    incidents = []
    for index in range(2000):
        opened = period.start + timedelta(seconds=chance.uniform(0, span - 86400))
        priority = f"P{1 + index % 4}"
        responded = chance.expovariate(1 / 3600)
        incidents.append(
            {
                "title": f"incident {index}",
                "service": f"svc{index % services:04d}",
                "priority": priority,
                "level": "critical",
                "category": "hardware",
                "impact": "none",
                "state": "closed",
                "source": "manual",
                "group_key": None,
                "started_at": opened,
                "opened_at": opened,
                "acknowledged_at": opened + timedelta(seconds=responded),
                "resolved_at": opened + timedelta(seconds=responded * 3),
                "response_due_at": opened + timedelta(hours=1),
                "resolution_due_at": opened + timedelta(hours=4),
                "response_breached": responded > 3600,
                "resolution_breached": responded * 3 > 4 * 3600,
                "response_seconds": responded,
                "resolution_seconds": responded * 3,
                "flap_count": 0,
                "updated_at": opened,
            }
        )
    return incidents


def timed(call: Callable[[], object], runs: int) -> float:
    call()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def run(url: str, label: str, args: argparse.Namespace, rules: RuleFile) -> None:
    started = time.perf_counter()
    populate(url, rules, args.services, args.windows)
    print(f"  {label}: loaded in {time.perf_counter() - started:.1f} s", flush=True)
    engine = create_database_engine(url)
    with Session(engine) as session:

        def report() -> Any:
            return build_report(session, rules=rules, year=YEAR, month=MONTH, now=NOW)

        built = report()
        whole = timed(report, args.runs)
        tracemalloc.start()
        report()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        json_s = timed(lambda: report_json(built), args.runs)
        csv_s = timed(lambda: report_csv(built), args.runs)
        html_s = timed(lambda: render_html(built), args.runs)
        period = month_period(YEAR, MONTH, rules.timezone, now=NOW)
        one = timed(
            lambda: service_availability(
                session, rules=rules, name="svc0007", period=period, now=NOW
            ),
            args.runs * 10,
        )
        figures = service_availability(session, rules=rules, name="svc0007", period=period, now=NOW)
    engine.dispose()
    services = built.services
    print(
        f"| {label} | {len(services):,} | {args.windows:,} | {whole * 1000:,.0f} |"
        f" {peak / 2**20:,.0f} | {json_s * 1000:,.0f} | {csv_s * 1000:,.0f} |"
        f" {html_s * 1000:,.0f} | {one * 1000:,.2f} |"
    )
    print(
        f"    sanity: downtime of all services {services['downtime_seconds'].sum():,.0f} s,"
        f" svc0007 availability {figures.availability_ratio:.6f}"
        f" ({figures.downtime_seconds:,.0f} s down)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--windows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    rules = load_rule_file(DEFAULT_RULES, default_timezone="Asia/Shanghai")
    print(
        f"slakeeper report benchmark {datetime.now(UTC):%Y-%m-%d %H:%MZ} |"
        f" {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    print(
        "| database | services | outage windows | report ms | report peak MiB | JSON ms |"
        " CSV ms | HTML ms | one service's month ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for database in args.databases.split(","):
        with empty_database(database, args.postgres_url, "slakeeper_report") as url:
            run(url, database, args, rules)


if __name__ == "__main__":
    main()
