"""How long the console takes to render its heaviest pages server-side: the incident queue
with 5,000 active incidents, and one incident with 2,000 alerts and 1,000 timeline events.

Measures and prints; asserts nothing. Run: `.venv/bin/python -m benchmarks.console_pages`
(`--databases sqlite,postgresql`, `--rounds 30`, `--incidents 5000`, `--alerts 2000`,
`--events 1000`).

A fresh, migrated database per run gets, inserted directly (in bulk, not through the ORM row
by row): `--incidents` active incidents (a third acknowledged) over the priorities of
`tests/fixtures/example_rules.yaml` and nine services, their due times from the rule file's
targets and ages spread so that some clocks are amber and some red (breached), each with a
firing alert; and one resolved incident with `--alerts` alerts (varied labels, annotations
with a runbook link, generator URLs) and `--events` timeline entries of every kind. Then the
app (`create_app` with a fixed clock, in-process through Starlette's test client, so what is
timed is the server's work and not a socket) serves `GET /` (the queue page),
`GET /console/queue` (the fragment the page refreshes every 3 s) and `GET /incidents/{id}`,
each warmed up and then `--rounds` times. Printed per page: median, p95 and max, the size of
the answer, and where the time goes: the page's data (`console.routes._queue`,
`console.incident_pages._detail`; of it, the database query and the ORM loading its rows),
the Jinja rendering of the same context (`console.pages.render`), and the rest (access
check, viewer, FastAPI and the test client).
"""

from __future__ import annotations

import argparse
import gc
import platform
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert, text

import console.desk
from benchmarks.harness.databases import empty_database
from benchmarks.harness.procfs import cpu_model, usable_cores
from benchmarks.harness.stats import percentile
from collector.models import AlertInstance
from console import incident_pages, routes
from core.database import create_database_engine
from incident.models import Incident, IncidentEvent
from rules.loader import load_rule_file
from rules.policy import RuleFile
from slakeeper import migrate
from slakeeper.app import create_app
from slakeeper.settings import Settings

EXAMPLE_RULES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "example_rules.yaml"
NOW = datetime(2026, 11, 24, 6, 30, tzinfo=UTC)  # a Tuesday, 14:30 in Shanghai
ZONE = "Asia/Shanghai"
SERVICES = ("payments", "checkout", "search", "auth", "billing", "storage", "cdn", "mail", "crm")
ALERTNAMES = ("InstanceDown", "HighLatency", "ErrorRateHigh", "DiskFull", "PodCrashLooping")
PEOPLE = ("alice", "bob", "chen.wei", "li.na")
GENERATOR = "http://prometheus.example:9090/graph?g0.expr=up%7Bjob%3D%22{job}%22%7D+%3D%3D+0"
WARM_UP = 3
AGAIN = "2026-11-22T04:10:00+00:00"
Change = dict[str, Any] | None
# Timeline entries after the first: every kind the service writes, with its before/after.
FINGERPRINTS = [f"{n:016x}" for n in range(20)]
KINDS: tuple[tuple[str, Change, Change, str | None], ...] = (
    ("alerts_attached", None, {"alerts": 25, "fingerprints": FINGERPRINTS}, None),
    ("note", None, None, "Rolled back the 14:02 deploy of payments-api; watching error rates."),
    ("escalated", None, {"step": 2, "notify": ["manager2"]}, "P2 escalation step 2: 4h"),
    ("raised", {"level": "warning"}, {"level": "critical"}, "a more severe alert joined"),
    ("breach", {"resolution_breached": False}, {"resolution_breached": True}, "target missed"),
    ("reclassified", {"category": "other"}, {"category": "software"}, "It is the release."),
    ("resolved", {"state": "acknowledged"}, {"state": "resolved", "resolved_at": AGAIN}, None),
    ("reopened", {"state": "resolved", "resolved_at": AGAIN}, {"state": "open"}, None),
    ("acknowledged", {"state": "open"}, {"state": "acknowledged"}, "on it"),
)


def _incident(index: int, service: str, priority: str, opened: datetime) -> dict[str, Any]:
    name = ALERTNAMES[index % len(ALERTNAMES)]
    return {
        "id": index + 1,
        "title": f"{name} on host-{index % 700:03d}.{service}.example",
        "service": service,
        "priority": priority,
        "level": "critical" if priority in ("P1", "P2") else "warning",
        "category": "hardware" if name == "InstanceDown" else "other",
        "impact": "outage" if priority == "P1" else "degraded" if priority == "P2" else "none",
        "state": "open",
        "source": "alert",
        "group_key": f"{service}/{name}/{index}",
        "started_at": opened - timedelta(seconds=90),
        "opened_at": opened,
        "acknowledged_at": None,
        "acknowledged_by": None,
        "response_due_at": None,
        "resolution_due_at": None,
        "response_breached": False,
        "resolution_breached": False,
        "flap_count": index % 3,
        "updated_at": opened,
    }


def active_incidents(rules: RuleFile, count: int, chance: random.Random) -> list[dict[str, Any]]:
    """`count` open and acknowledged incidents; a clock's age is 5–130 % of its target, so
    about a quarter are red (overdue, breached) and a fifth amber."""
    priorities = list(rules.priorities.values())
    rows = []
    for index in range(count):
        policy = priorities[index % len(priorities)]
        service = SERVICES[(index * 7) % len(SERVICES)]
        share = chance.uniform(0.05, 1.3)
        if index % 3:  # open: the response clock runs
            opened = NOW - policy.respond.length * share
            row = _incident(index, service, policy.name, opened)
            row["response_due_at"] = policy.respond.deadline(opened)
            row["response_breached"] = row["response_due_at"] < NOW
        else:  # acknowledged in time: the resolution clock runs
            acknowledged = NOW - policy.resolve.length * share
            opened = acknowledged - policy.respond.length * chance.uniform(0.1, 0.9)
            row = _incident(index, service, policy.name, opened)
            row |= {"state": "acknowledged", "acknowledged_at": acknowledged}
            row["acknowledged_by"] = PEOPLE[index % len(PEOPLE)]
            row["response_due_at"] = policy.respond.deadline(opened)
            row["resolution_due_at"] = policy.resolve.deadline(acknowledged)
            row["resolution_breached"] = row["resolution_due_at"] < NOW
        rows.append(row)
    return rows


def _alert(index: int, incident: dict[str, Any], start: datetime, end: datetime | None) -> Any:
    name = ALERTNAMES[index % len(ALERTNAMES)]
    service, job = incident["service"], f"{incident['service']}-api"
    runbook = (
        f"https://runbooks.example/{service}/{name}"
        if index % 10
        else ("javascript:alert(1)" if index % 20 else None)
    )
    annotations = {
        "summary": f"{name} on host-{index % 400:03d}",
        "description": f"{name} has held for more than 5 minutes on host-{index % 400:03d}"
        f" (job {job}, {index % 97} % over the threshold).",
    }
    if runbook is not None:
        annotations["runbook_url"] = runbook
    return {
        "fingerprint": f"{incident['id']:06x}{index:010x}",
        "starts_at": start,
        "ends_at": end,
        "status": "firing" if end is None else "resolved",
        "labels": {
            "alertname": name,
            "instance": f"host-{index % 400:03d}:9100",
            "job": job,
            "service": service,
            "severity": "critical" if index % 3 else "warning",
            "region": ("cn-east-1", "cn-north-2", "eu-central-1")[index % 3],
            **({"pod": f"{job}-{index:05d}-7f9c"} if index % 2 else {}),
        },
        "annotations": annotations,
        "generator_url": GENERATOR.format(job=job),
        "source": "alertmanager",
        "receive_count": 1 + index % 40,
        "first_received_at": start,
        "last_received_at": end or NOW,
        "service": service,
        "level": incident["level"],
        "priority": incident["priority"],
        "category": incident["category"],
        "impact": incident["impact"],
        "group_key": incident["group_key"],
        "incident_id": incident["id"],
        "resolved_received_at": end,
    }


def big_incident(identifier: int) -> dict[str, Any]:
    """A resolved incident of three days (so not in the queue), with reopenings."""
    opened = NOW - timedelta(days=3)
    row = _incident(identifier - 1, "payments", "P2", opened)
    return row | {
        "title": "payments degraded in cn-east-1: error rate and latency across the fleet",
        "state": "resolved",
        "group_key": "payments/ErrorRateHigh",
        "acknowledged_at": opened + timedelta(minutes=12),
        "acknowledged_by": "alice",
        "resolved_at": NOW - timedelta(hours=1),
        "resolved_by": "bob",
        "response_due_at": opened + timedelta(hours=4),
        "resolution_due_at": opened + timedelta(hours=48),
        "resolution_breached": True,
        "response_seconds": 720.0,
        "flap_count": 41,
    }


def big_alerts(incident: dict[str, Any], count: int, chance: random.Random) -> list[Any]:
    span = (NOW - incident["opened_at"]).total_seconds() - 7200
    alerts = []
    for index in range(count):
        start = incident["opened_at"] + timedelta(seconds=chance.uniform(0, span))
        alerts.append(_alert(index, incident, start, start + timedelta(minutes=1 + index % 90)))
    return alerts


def timeline(incident: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """`count` entries: opened, then every kind the service writes, in turn."""
    step = (NOW - incident["opened_at"]) / count
    events = [
        {
            "incident_id": incident["id"],
            "at": incident["opened_at"],
            "actor": "system",
            "via": None,
            "kind": "opened",
            "before": None,
            "after": {"state": "open", "priority": "P2", "service": "payments"},
            "note": None,
        }
    ]
    for index in range(1, count):
        kind, before, after, note = KINDS[index % len(KINDS)]
        person = kind in ("note", "reclassified", "resolved", "acknowledged")
        events.append(
            {
                "incident_id": incident["id"],
                "at": incident["opened_at"] + step * index,
                "actor": PEOPLE[index % len(PEOPLE)] if person else "system",
                "via": "svc:chatops" if person and index % 4 == 0 else None,
                "kind": kind,
                "before": before,
                "after": after,
                "note": note,
            }
        )
    return events


def populate(url: str, args: argparse.Namespace, rules: RuleFile, seed: int = 13) -> int:
    """Migrate a fresh database and insert the queue's incidents and the big incident; its id."""
    engine = create_database_engine(url)
    migrate.upgrade(engine)
    chance = random.Random(seed)
    incidents = active_incidents(rules, args.incidents, chance)
    alerts = [_alert(row["id"], row, row["started_at"], None) for row in incidents]
    big = big_incident(len(incidents) + 1)
    alerts += big_alerts(big, args.alerts, chance)
    with engine.begin() as connection:
        connection.execute(insert(Incident), [*incidents, big])
        for offset in range(0, len(alerts), 5_000):
            connection.execute(insert(AlertInstance), alerts[offset : offset + 5_000])
        connection.execute(insert(IncidentEvent), timeline(big, args.events))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    engine.dispose()
    return int(big["id"])


class Stopwatch:
    """Time spent in some of the app's functions, added up per request: the functions are
    wrapped where the routes look them up, for as long as the stopwatch is in use."""

    # (module, name, part): the page's data, the query and ORM loading within it, rendering.
    WRAPPED = (
        (routes, "_queue", "data"),
        (incident_pages, "_detail", "data"),
        (routes, "queue_incidents", "query"),
        (incident_pages, "read_incident_page", "query"),
        (console.desk, "render", "render"),
    )

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}
        self._originals: list[tuple[ModuleType, str, Any]] = []

    def _wrap(self, function: Callable[..., Any], part: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.spent[part] = self.spent.get(part, 0.0) + time.perf_counter() - began

        return timed

    def __enter__(self) -> Stopwatch:
        for module, name, part in self.WRAPPED:
            original = getattr(module, name)
            self._originals.append((module, name, original))
            setattr(module, name, self._wrap(original, part))
        return self

    def __exit__(self, *_: object) -> None:
        for module, name, original in self._originals:
            setattr(module, name, original)
        self._originals.clear()


def fetch(client: TestClient, path: str) -> bytes:
    """GET `path`, refusing anything but a 200 (a redirect to /login would time the wrong page)."""
    response = client.get(path, follow_redirects=False)
    if response.status_code != 200:
        raise SystemExit(f"GET {path}: {response.status_code} {response.text[:300]}")
    body: bytes = response.content
    return body


def measure(client: TestClient, path: str, rounds: int) -> dict[str, Any]:
    """`rounds` GETs of `path` after `WARM_UP`: each one's time, and the time of its parts."""
    for _ in range(WARM_UP):
        body = fetch(client, path)
    samples: dict[str, list[float]] = {"whole": [], "data": [], "query": [], "render": []}
    with Stopwatch() as stopwatch:
        for _ in range(rounds):
            stopwatch.spent.clear()
            began = time.perf_counter()
            fetch(client, path)
            samples["whole"].append(time.perf_counter() - began)
            for part in ("data", "query", "render"):
                samples[part].append(stopwatch.spent.get(part, 0.0))
    parts = zip(samples["whole"], samples["data"], samples["render"], strict=True)
    rest = [whole - data - render for whole, data, render in parts]
    return {"path": path, "body": body.decode(), **samples, "rest": rest}


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


def run(url: str, label: str, args: argparse.Namespace, rules: RuleFile) -> None:
    started = time.perf_counter()
    big_id = populate(url, args, rules)
    loaded = time.perf_counter() - started
    settings = Settings(database_url=url, rules=EXAMPLE_RULES, timezone=ZONE)
    app = create_app(settings, clock=lambda: NOW)
    # As `create_app_from_environment` does for a server: what lives as long as the process
    # is kept out of the collector's sight.
    gc.collect()
    gc.freeze()
    with TestClient(app) as client:
        paths = ("/", "/console/queue", f"/incidents/{big_id}")
        results = [measure(client, path, args.rounds) for path in paths]
    gc.unfreeze()
    for page in results:
        whole = page["whole"]
        parts = {
            part: statistics.median(page[part]) for part in ("data", "query", "render", "rest")
        }
        print(
            f"| {label} | `{page['path']}` | {ms(statistics.median(whole))} |"
            f" {ms(percentile(whole, 0.95))} | {ms(max(whole))} |"
            f" {len(page['body'].encode()) / 1024:,.0f} | {ms(parts['data'])}"
            f" ({ms(parts['query'])}) | {ms(parts['render'])} | {ms(parts['rest'])} |"
        )
    queue, detail = results[0]["body"], results[-1]["body"]
    tones = {tone: queue.count(f'class="tone-{tone}"') for tone in ("ok", "amber", "red")}
    print(
        f"    loaded in {loaded:.1f} s; queue rows {queue.count('<tr data-incident='):,}"
        f" (tones {tones}); detail: {detail.count('<tr data-alert='):,} alerts,"
        f" {detail.count('<li data-kind='):,} timeline entries,"
        f" {detail.count('>Runbook</a>'):,} runbook links"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--incidents", type=int, default=5_000)
    parser.add_argument("--alerts", type=int, default=2_000)
    parser.add_argument("--events", type=int, default=1_000)
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    rules = load_rule_file(EXAMPLE_RULES, default_timezone="UTC")
    print(
        f"slakeeper console pages benchmark {datetime.now(UTC):%Y-%m-%d %H:%MZ} |"
        f" {usable_cores()} cores, {cpu_model()}, Python {platform.python_version()};"
        f" {args.rounds} rounds after {WARM_UP} warm-up"
    )
    print(
        "| database | page | median ms | p95 ms | max ms | KiB | data ms (of it query) |"
        " render ms | rest ms |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for kind in args.databases.split(","):
        with empty_database(kind, args.postgres_url, "slakeeper_console") as url:
            run(url, kind, args, rules)


if __name__ == "__main__":
    main()
