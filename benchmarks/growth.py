"""How much the database grows per ingested alert, per table, on SQLite and PostgreSQL.

Measures and prints; asserts nothing. Run: `.venv/bin/python -m benchmarks.growth`
(`--databases sqlite,postgresql`, `--alerts 200000`, `--group 25`, `--batch 8`,
`--postgres-url postgresql://postgres@127.0.0.1:5432/postgres`, `--seed 1`).

A fresh, migrated database per run receives `--alerts` alert instances as Alertmanager
would send them, through the real ingestion transaction (`collector.normalise` then
`incident.ingestion.apply_deliveries`, `--batch` pushes per transaction as the group-commit
writer does) with the shipped rule file: episodes of a group (alertname × service) firing
on 1 to 2×`--group` instances at once (one webhook), resolved 2 to 30 minutes later (a
second webhook), with node-exporter-like labels, annotations and generator URLs. Incidents
open, resolve and flap as the rules say.

Every table is measured before and after (`housekeeping.sizes`, rows counted exactly), twice
after: as ingested (PostgreSQL keeps the row versions the resolution replaced until
autovacuum lets their space be reused; SQLite its free pages) and compacted (VACUUM FULL /
VACUUM), which bound what a long-running installation holds per alert. Printed per table:
rows, bytes as ingested and compacted, and bytes per alert; then the total per alert and
GB per million alerts. Last, one housekeeping sweep 500 days on (default retention, no month
closed) and how long each of its batches took.
"""

from __future__ import annotations

import argparse
import heapq
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine, event, text

from benchmarks.harness.databases import empty_database
from collector.alerts import Delivery
from collector.normalise import from_alertmanager_webhook
from collector.schemas import AlertmanagerWebhook
from core.database import create_database_engine, writing_session
from housekeeping.jobs import sweep
from housekeeping.policy import Retention
from housekeeping.sizes import DatabaseSize, database_size
from incident.ingestion import apply_deliveries
from rules.loader import DEFAULT_RULES, load_rule_file
from rules.policy import RuleFile
from slakeeper import migrate

START = datetime(2026, 11, 1, tzinfo=UTC)
ALERTNAMES = [
    f"{kind}{what}"
    for kind in ("Node", "Service", "Disk", "Probe")
    for what in ("Down", "HighLatency", "ErrorsRising", "Saturated", "Flapping")
]
SEVERITIES = ["critical", "warning", "warning", "info"]
SERVICES = [f"service-{n:02d}" for n in range(40)]
EXTERNAL_URL = "http://alertmanager.monitoring.svc:9093"


@dataclass(frozen=True, slots=True)
class Episode:
    """A group firing on some instances from `start`, resolved at `end`."""

    alertname: str
    service: str
    severity: str
    instances: tuple[str, ...]
    start: datetime
    end: datetime


def _alert(episode: Episode, instance: str, resolved: bool) -> dict[str, Any]:
    labels = {
        "alertname": episode.alertname,
        "instance": instance,
        "job": "node",
        "severity": episode.severity,
        "service": episode.service,
        "team": "sre",
        "env": "prod",
        "region": "eu-west-1",
    }
    return {
        "status": "resolved" if resolved else "firing",
        "labels": labels,
        "annotations": {
            "summary": f"{episode.alertname} on {instance}",
            "description": f"{episode.alertname} has held for 5 minutes on {instance} "
            f"({episode.service}); see the runbook for what to check first.",
        },
        "startsAt": episode.start.isoformat().replace("+00:00", "Z"),
        "endsAt": episode.end.isoformat().replace("+00:00", "Z")
        if resolved
        else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.monitoring.svc:9090/graph?g0.expr="
        f"{episode.alertname}%7Bservice%3D%22{episode.service}%22%7D&g0.tab=1",
    }


def webhook(episode: Episode, *, resolved: bool, now: datetime) -> Delivery:
    """The Alertmanager webhook (version 4) for `episode`, normalised as the collector does."""
    group = {"alertname": episode.alertname, "service": episode.service}
    payload = {
        "version": "4",
        "status": "resolved" if resolved else "firing",
        "receiver": "slakeeper",
        "groupKey": f'{{}}:{{alertname="{episode.alertname}", service="{episode.service}"}}',
        "groupLabels": group,
        "commonLabels": group,
        "commonAnnotations": {},
        "externalURL": EXTERNAL_URL,
        "truncatedAlerts": 0,
        "alerts": [_alert(episode, instance, resolved) for instance in episode.instances],
    }
    # As the collector parses a request's body: JSON bytes, strictly.
    parsed = AlertmanagerWebhook.model_validate_json(orjson.dumps(payload))
    return from_alertmanager_webhook(parsed, now=now)


def pushes(alerts: int, group: int, seed: int) -> Iterator[Delivery]:
    """Firing and resolved webhooks, in the order they arrive, for `alerts` instances."""
    rng = random.Random(seed)
    now, sent, serial = START, 0, 0
    due: list[tuple[datetime, int, Episode]] = []
    while sent < alerts or due:
        if sent < alerts:
            now += timedelta(seconds=rng.uniform(1, 20))
            size = min(rng.randint(1, 2 * group - 1), alerts - sent)
            hosts = rng.sample(range(5000), size)
            episode = Episode(
                rng.choice(ALERTNAMES),
                rng.choice(SERVICES),
                rng.choice(SEVERITIES),
                tuple(f"host-{host:04d}.prod.internal:9100" for host in hosts),
                now - timedelta(minutes=5),
                now + timedelta(minutes=rng.uniform(2, 30)),
            )
            sent += size
            serial += 1
            heapq.heappush(due, (episode.end, serial, episode))
            yield webhook(episode, resolved=False, now=now)
        while due and (sent >= alerts or due[0][0] <= now):
            end, _, episode = heapq.heappop(due)
            now = max(now, end)
            yield webhook(episode, resolved=True, now=now)


def ingest(engine: Engine, rules: RuleFile, args: argparse.Namespace) -> tuple[int, float]:
    """Send every push through the ingestion transaction; (pushes, seconds)."""
    count, batch = 0, []
    started = time.perf_counter()
    for delivery in pushes(args.alerts, args.group, args.seed):
        batch.append(delivery)
        count += 1
        if len(batch) == args.batch:
            _write(engine, rules, batch)
            batch = []
    if batch:
        _write(engine, rules, batch)
    return count, time.perf_counter() - started


def _write(engine: Engine, rules: RuleFile, batch: list[Delivery]) -> None:
    with writing_session(engine) as session:
        apply_deliveries(session, batch, rules=rules, now=batch[-1].received_at)


def compact(engine: Engine) -> None:
    """VACUUM FULL (PostgreSQL) or VACUUM (SQLite): the space of replaced rows given back."""
    _maintain(engine, "VACUUM (FULL, ANALYZE)", ["VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)"])


def settle(engine: Engine) -> None:
    """Statistics and checkpoint, so that the catalogues show what was written."""
    _maintain(engine, "ANALYZE", ["PRAGMA wal_checkpoint(TRUNCATE)"])


def _maintain(engine: Engine, postgresql: str, sqlite: list[str]) -> None:
    # Outside any transaction: the engine's own connections begin one for every statement.
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text(postgresql))
        return
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement in sqlite:
            cursor.execute(statement)
        cursor.close()
    finally:
        raw.close()


def _bytes(size: DatabaseSize) -> dict[str, tuple[int, int]]:
    return {t.table: (t.rows, t.total_bytes or 0) for t in size.tables}


def report(database: str, alerts: int, sizes: list[DatabaseSize]) -> list[str]:
    """Markdown rows per table that grew, then the totals."""
    before, ingested, compacted = (_bytes(size) for size in sizes)
    lines = []
    grown = [n for n in ingested if ingested[n][1] > before.get(n, (0, 0))[1]]
    for name in sorted(grown, key=lambda n: -ingested[n][1]):
        base = before.get(name, (0, 0))[1]
        rows, raw = ingested[name]
        packed = compacted[name][1]
        lines.append(
            f"| {database} | {name} | {rows:,} | {raw - base:,} | {packed - base:,} | "
            f"{(raw - base) / alerts:.0f} | {(packed - base) / alerts:.0f} |"
        )
    raw_total = sizes[1].total_bytes - sizes[0].total_bytes
    packed_total = sizes[2].total_bytes - sizes[0].total_bytes
    lines.append(
        f"| {database} | **database** | | {raw_total:,} | {packed_total:,} | "
        f"{raw_total / alerts:.0f} | {packed_total / alerts:.0f} |"
    )
    lines.append(
        f"{database}: {raw_total / alerts * 1e6 / 1e9:.2f} GB per million alerts as ingested, "
        f"{packed_total / alerts * 1e6 / 1e9:.2f} GB compacted"
    )
    return lines


def run(url: str, database: str, args: argparse.Namespace, rules: RuleFile) -> list[str]:
    engine = create_database_engine(url)
    try:
        migrate.upgrade(engine)
        settle(engine)
        sizes = [database_size(engine, exact_rows=True)]
        count, seconds = ingest(engine, rules, args)
        settle(engine)
        sizes.append(database_size(engine, exact_rows=True))
        compact(engine)
        sizes.append(database_size(engine, exact_rows=True))
        swept = time_sweep(engine, rules, database)
    finally:
        engine.dispose()
    note = (
        f"{database}: {args.alerts:,} alerts in {count:,} pushes, ingested in {seconds:.0f} s "
        f"({args.alerts / seconds:,.0f} alerts/s in this process, shared machine)"
    )
    return [*report(database, args.alerts, sizes), note, swept]


def time_sweep(engine: Engine, rules: RuleFile, database: str) -> str:
    """One housekeeping sweep 500 days on, with the default retention (no month closed: the
    alerts that count in a figure stay); how long its batches that deleted rows took."""
    stamps: list[float] = []
    rows: list[int] = []

    def until() -> bool:  # called before each batch
        stamps.append(time.perf_counter())
        return False

    def deleted_rows(_c: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("DELETE"):
            rows.append(cursor.rowcount)

    retention = Retention()
    event.listen(engine, "after_cursor_execute", deleted_rows)
    try:
        later = START + timedelta(days=500)
        deleted = sweep(engine, rules=rules, retention=retention, now=later, until=until)
        stamps.append(time.perf_counter())
    finally:
        event.remove(engine, "after_cursor_execute", deleted_rows)
    spans = [1000 * (b - a) for a, b in zip(stamps, stamps[1:], strict=False)]
    batches = sorted(span for span, count in zip(spans, rows, strict=True) if count)
    gone = ", ".join(f"{count:,} {table}" for table, count in deleted.items() if count)
    return (
        f"{database}: a sweep deleted {gone} in {len(batches)} batches of up to "
        f"{retention.batch_size:,} rows: median {batches[len(batches) // 2]:.0f} ms, "
        f"max {batches[-1]:.0f} ms per batch (its own transaction, commit included)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--alerts", type=int, default=200_000)
    parser.add_argument("--group", type=int, default=25, help="mean alerts per push")
    parser.add_argument("--batch", type=int, default=8, help="pushes per transaction")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    rules = load_rule_file(DEFAULT_RULES)
    lines: list[str] = []
    for database in args.databases.split(","):
        with empty_database(database, args.postgres_url, "slakeeper_growth") as url:
            lines += run(url, database, args, rules)
    print(
        "| database | table | rows | bytes as ingested | bytes compacted | B/alert | "
        "B/alert compacted |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    print("\n".join(line for line in lines if line.startswith("|")))
    print("\n".join(line for line in lines if not line.startswith("|")))


if __name__ == "__main__":
    main()
