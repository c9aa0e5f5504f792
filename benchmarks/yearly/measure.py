"""One year-sized database under a real `slakeeper serve`: reads, deep pages, ingestion."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from benchmarks.harness import BenchmarkError
from benchmarks.harness.servers import Server, running_server
from benchmarks.ingest.measure import Figures, measure_scenario
from benchmarks.ingest.options import Options as IngestOptions
from benchmarks.yearly.building import Built
from benchmarks.yearly.dataset import Sizes, service_name
from benchmarks.yearly.options import Options
from benchmarks.yearly.reads import Case, Client, Timing, read_cases, time_case, walk_cursor
from benchmarks.yearly.sweeping import time_housekeeping

__all__ = ["DatabaseFigures", "measure_database"]

INGEST_SCENARIOS = ("new", "batch")


@dataclass(slots=True)
class DatabaseFigures:
    """Everything measured on one database."""

    kind: str
    ready_s: float
    reads: list[Timing] = field(default_factory=list)
    walks: dict[str, list[float]] = field(default_factory=dict)
    ingestion: list[Figures] = field(default_factory=list)
    housekeeping: str = "not measured"


def _example(client: Client, sizes: Sizes) -> tuple[int, str]:
    """An incident from the middle of the year, and the fingerprint of one of its alerts."""
    incident_id = sizes.incidents // 2
    status, body, _ = client.get(f"/api/v1/incidents/{incident_id}")
    if status != 200:
        raise BenchmarkError(f"GET /api/v1/incidents/{incident_id} -> {status}: {body[:300]!r}")
    alerts = json.loads(body)["alerts"]
    return incident_id, str(alerts[0]["fingerprint"]) if alerts else "0" * 16


def _print_timing(timing: Timing) -> None:
    print(
        f"  {timing.case.name:<52} {timing.status:>4} {timing.size:>9,} B "
        f"first {timing.first_ms:8.1f} ms  p50 {timing.p50:8.1f} ms  p99 {timing.p99:8.1f} ms",
        flush=True,
    )


def _deep_cases(client: Client, options: Options, figures: DatabaseFigures) -> list[Case]:
    """Walk the cursor of each listing to the deep page; the deep pages, as cases."""
    busy = service_name(0)
    deep: list[Case] = []
    for name, path in (
        ("alerts", "/api/v1/alerts?limit=100"),
        (f"alerts service={busy}", f"/api/v1/alerts?limit=100&service={busy}"),
        ("alerts status=resolved", "/api/v1/alerts?limit=100&status=resolved"),
        ("incidents", "/api/v1/incidents?limit=100"),
        ("incidents state=closed", "/api/v1/incidents?limit=100&state=closed"),
    ):
        started = time.monotonic()
        walk = walk_cursor(client, path, options.deep_page)
        figures.walks[name] = walk.pages_ms
        took = time.monotonic() - started
        print(f"  walked {name}: {len(walk.pages_ms)} pages in {took:.1f} s", flush=True)
        if walk.cursor is not None:
            page = len(walk.pages_ms)
            deep.append(Case(f"{name}: page {page}", f"{path}&cursor={quote(walk.cursor)}"))
    return deep


def _ingestion(options: Options, server: Server, kind: str) -> list[Figures]:
    ingest = IngestOptions(
        databases=(kind,),
        scenarios=INGEST_SCENARIOS,
        duration=options.ingest_duration,
        connections=options.ingest_connections,
        threads=2,
        workers=1,
        max_requests=200_000,
        postgres_url=options.postgres_url,
        json_path=None,
    )
    results = []
    for scenario in INGEST_SCENARIOS:
        figures = measure_scenario(ingest, server, kind, scenario)
        print(
            f"  ingestion {scenario:<6} {figures.alerts_per_s:10,.0f} alerts/s  "
            f"p50 {figures.p50_ms:.1f} ms  p99 {figures.p99_ms:.1f} ms  "
            f"errors {figures.errors}",
            flush=True,
        )
        results.append(figures)
    return results


def measure_database(
    options: Options, built: Built, workdir: Path, slakeeper: Path
) -> DatabaseFigures:
    """Serve the built database and measure every case on it."""
    wanted = options.sizes
    sizes = Sizes(wanted.alerts, wanted.incidents, wanted.services, built.end)
    started = time.monotonic()
    log = workdir / f"{built.kind}-server.log"
    with running_server(slakeeper, built.url, 1, log) as server:
        figures = DatabaseFigures(built.kind, time.monotonic() - started)
        print(f"  server ready in {figures.ready_s:.1f} s (log: {log})", flush=True)
        client = Client(server.port)
        try:
            incident_id, fingerprint = _example(client, sizes)
            cases = list(read_cases(sizes, incident_id=incident_id, fingerprint=fingerprint))
            cases += _deep_cases(client, options, figures)
            for case in cases:
                timing = time_case(client, case, options.requests)
                _print_timing(timing)
                figures.reads.append(timing)
        finally:
            client.close()
        figures.housekeeping = time_housekeeping(built.url, built.end)
        print(f"  housekeeping: {figures.housekeeping}", flush=True)
        figures.ingestion = _ingestion(options, server, built.kind)
    return figures
