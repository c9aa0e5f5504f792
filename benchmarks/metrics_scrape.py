"""How long a Prometheus scrape of `/metrics` takes with 1,000 services and 10,000 open
incidents.

Measures and prints; asserts nothing. Run: `.venv/bin/python -m benchmarks.metrics_scrape`
(`--databases sqlite,postgresql`, `--services 1000`, `--incidents 10000`,
`--windows 100000`, `--scrapes 40`).

A fresh database per run gets, inserted directly: `--windows` resolved outage and
degraded alerts over the last 30 days across `--services` services, and `--incidents`
active incidents (a quarter acknowledged), each with a firing alert — one in ten an
outage, two in ten degraded — so a tenth of the services are down while it runs. Then the
app (`create_app`, in-process through Starlette's test client) is scraped `--scrapes`
times with the clock moving 15 s per scrape, as Prometheus would: every scrape computes
states, downtime and open incidents afresh (cache off), raises the downtime counters of
the services that are down, and every ten minutes of clock moves their checkpoints.
Printed, median and 95th percentile: a scrape as served (the month's figures recomputed in
the background every 60 s of real time, so not during the run); a scrape while that
recomputation runs in the background (the worst case: they share the GIL);
a scrape served from the 5 s cache; and the background recomputation itself.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from availability.snapshot import period_figures
from benchmarks.harness.databases import empty_database
from collector.models import AlertInstance
from core.database import create_database_engine
from incident.models import Incident
from rules.loader import DEFAULT_RULES, load_rule_file
from slakeeper import migrate
from slakeeper.app import create_app
from slakeeper.settings import Settings

START = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
SCRAPE_INTERVAL = timedelta(seconds=15)


def _alert(
    index: int, service: str, impact: str, start: datetime, end: datetime | None
) -> dict[str, Any]:
    return {
        "fingerprint": f"{index:016x}",
        "starts_at": start,
        "ends_at": end,
        "status": "firing" if end is None else "resolved",
        "labels": {"alertname": "Down", "service": service, "n": str(index)},
        "annotations": {},
        "generator_url": "",
        "source": "alertmanager",
        "receive_count": 1,
        "first_received_at": start,
        "last_received_at": end or start,
        "service": service,
        "level": "critical",
        "priority": "P2",
        "category": "hardware",
        "impact": impact,
        "group_key": f"{service}/Down/{index}",
        "resolved_received_at": end,
    }


def populate(url: str, args: argparse.Namespace, seed: int = 11) -> None:
    engine = create_database_engine(url)
    migrate.upgrade(engine)
    chance = random.Random(seed)
    month = timedelta(days=30).total_seconds()
    alerts = []
    for index in range(args.windows):
        service = f"svc{index % args.services:04d}"
        start = START - timedelta(seconds=chance.uniform(0, month))
        end = start + timedelta(seconds=chance.expovariate(1 / 600))
        impact = "outage" if index % 2 else "degraded"
        alerts.append(_alert(index, service, impact, start, min(end, START)))
    incidents = []
    for index in range(args.incidents):
        service = f"svc{index % args.services:04d}"
        opened = START - timedelta(seconds=chance.uniform(60, 86400))
        impact = "outage" if index % 10 == 0 else "degraded" if index % 10 < 3 else "none"
        acknowledged = index % 4 == 0
        incidents.append(
            {
                "id": index + 1,
                "title": f"incident {index}",
                "service": service,
                "priority": f"P{1 + index % 4}",
                "level": "critical",
                "category": "hardware",
                "impact": impact,
                "state": "acknowledged" if acknowledged else "open",
                "source": "alert",
                "group_key": f"{service}/Firing/{index}",
                "started_at": opened,
                "opened_at": opened,
                "acknowledged_at": opened + timedelta(minutes=5) if acknowledged else None,
                "response_due_at": opened + timedelta(hours=1),
                "resolution_due_at": opened + timedelta(hours=24),
                "response_breached": False,
                "resolution_breached": False,
                "flap_count": 0,
                "updated_at": opened,
            }
        )
        firing = _alert(args.windows + index, service, impact, opened, None)
        firing["incident_id"] = index + 1
        alerts.append(firing)
    with engine.begin() as connection:
        connection.execute(insert(Incident), incidents)
        for offset in range(0, len(alerts), 10_000):
            connection.execute(insert(AlertInstance), alerts[offset : offset + 10_000])
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    engine.dispose()


def _refreshing() -> bool:
    return any(thread.name == "slakeeper-figures" for thread in threading.enumerate())


def scrapes(
    url: str, args: argparse.Namespace, now: list[datetime], *, overlapping: bool, **settings: Any
) -> tuple[list[float], str]:
    """Times of `--scrapes` scrapes, the clock moving 15 s before each, and the last
    response; with `overlapping`, only of those a background refresh ran alongside."""
    samples: list[float] = []
    app = create_app(Settings(database_url=url, **settings), clock=lambda: now[0])
    with TestClient(app) as client:
        client.get("/metrics")  # creates the downtime counters, computes the month
        while len(samples) < args.scrapes:
            now[0] += SCRAPE_INTERVAL
            before = _refreshing()
            began = time.perf_counter()
            response = client.get("/metrics")
            took = time.perf_counter() - began
            if response.status_code != 200:
                raise SystemExit(f"scrape failed: {response.status_code} {response.text[:200]}")
            if not overlapping or before or _refreshing():
                samples.append(took)
    return sorted(samples), response.text


def run(url: str, label: str, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    populate(url, args)
    loaded = time.perf_counter() - started
    now = [START]
    # As served: figures over the month recomputed in the background every 60 s (real
    # time, so not during these few seconds), the rest at every scrape (cache off).
    plain, text = scrapes(url, args, now, overlapping=False, metrics_cache_seconds=0)
    # The worst case: scrapes a background recomputation of the month ran alongside (one
    # starting once the last is 2 s old, so that many scrapes meet one).
    busy, _ = scrapes(
        url, args, now, overlapping=True, metrics_cache_seconds=0, availability_refresh_seconds=2
    )
    cached, _ = scrapes(url, args, now, overlapping=False)
    engine = create_database_engine(url)
    rules = load_rule_file(DEFAULT_RULES, default_timezone="UTC")
    with Session(engine) as session:
        refresh = []
        for _ in range(3):
            began = time.perf_counter()
            period_figures(session, rules=rules, now=now[0])
            refresh.append(time.perf_counter() - began)
    engine.dispose()
    down = sum(
        line.startswith("slakeeper_service_up{") and line.endswith(" 0.0")
        for line in text.splitlines()
    )
    print(
        f"| {label} | {args.services:,} | {args.incidents:,} | {args.windows:,} |"
        f" {ms(statistics.median(plain))} | {ms(p95(plain))} | {ms(statistics.median(busy))} |"
        f" {ms(p95(busy))} | {ms(statistics.median(cached), 1)} |"
        f" {ms(statistics.median(refresh))} | {len(text.encode()) / 1024:,.0f} |"
    )
    print(
        f"    loaded in {loaded:.1f} s; {3 * args.scrapes} scrapes over"
        f" {3 * args.scrapes * 15 / 60:.0f} min of clock; {down} services down"
    )


def ms(seconds: float, digits: int = 0) -> str:
    return f"{seconds * 1000:,.{digits}f}"


def p95(samples: list[float]) -> float:
    return samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--windows", type=int, default=100_000)
    parser.add_argument("--scrapes", type=int, default=40)
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    print(
        f"slakeeper /metrics scrape benchmark {datetime.now(UTC):%Y-%m-%d %H:%MZ} |"
        f" {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    print(
        "| database | services | open incidents | windows (30 days) | scrape median ms |"
        " p95 ms | during a refresh: median ms | p95 ms | cached ms | month refresh ms |"
        " exposition KiB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kind in args.databases.split(","):
        with empty_database(kind, args.postgres_url, "slakeeper_scrape") as url:
            run(url, kind, args)


if __name__ == "__main__":
    main()
