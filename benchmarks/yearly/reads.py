"""The read cases: what operators and Prometheus ask of a year-sized database, timed.

Each case is one GET, sent `requests` times in turn over one keep-alive connection, after one
untimed warm-up request. Deep pages are reached by following `next_cursor` from the first
page, as a client does; then that deep page is the case.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlencode

from benchmarks.harness import BenchmarkError
from benchmarks.harness.servers import LOOPBACK
from benchmarks.harness.stats import percentile
from benchmarks.yearly.dataset import Sizes, service_name

__all__ = ["Case", "Timing", "Walk", "read_cases", "time_case", "walk_cursor"]

TIMEOUT_S = 120.0
# A case whose first answer takes longer than this is timed only SLOW_REQUESTS times: the
# figure is plain after three, and thirty would hold the run for many minutes.
SLOW_FIRST_MS = 2_000.0
SLOW_REQUESTS = 3


@dataclass(frozen=True, slots=True)
class Case:
    """One request to time: a name for the table and the path."""

    name: str
    path: str


@dataclass(frozen=True, slots=True)
class Timing:
    """How one case answered."""

    case: Case
    first_ms: float  # the first request: caches cold
    samples_ms: list[float]
    status: int
    size: int

    @property
    def p50(self) -> float:
        return percentile(self.samples_ms, 0.5)

    @property
    def p99(self) -> float:
        return percentile(self.samples_ms, 0.99)


@dataclass(frozen=True, slots=True)
class Walk:
    """Following a cursor from the first page: every page's time, and the last cursor."""

    pages_ms: list[float]
    cursor: str | None


class Client:
    """One keep-alive HTTP connection to the server."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection(LOOPBACK, port, timeout=TIMEOUT_S)

    def get(self, path: str) -> tuple[int, bytes, float]:
        """Status, body and milliseconds of one GET."""
        started = time.perf_counter()
        try:
            self.connection.request("GET", path)
            response = self.connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            raise
        return response.status, body, (time.perf_counter() - started) * 1000

    def close(self) -> None:
        self.connection.close()


def time_case(client: Client, case: Case, requests: int) -> Timing:
    """One warm-up (timed apart: caches cold), then `requests` timed GETs."""
    status, body, first = client.get(case.path)
    samples = []
    for _ in range(SLOW_REQUESTS if first > SLOW_FIRST_MS else requests):
        status, body, elapsed = client.get(case.path)
        samples.append(elapsed)
    return Timing(case, first, samples, status, len(body))


def walk_cursor(client: Client, path: str, pages: int) -> Walk:
    """Follow `next_cursor` from `path` for up to `pages` pages."""
    separator = "&" if "?" in path else "?"
    cursor: str | None = None
    times: list[float] = []
    for _ in range(pages):
        wanted = path if cursor is None else f"{path}{separator}cursor={quote(cursor)}"
        status, body, elapsed = client.get(wanted)
        if status != 200:
            raise BenchmarkError(f"GET {wanted} -> {status}: {body[:300]!r}")
        times.append(elapsed)
        following = json.loads(body).get("next_cursor")
        if following is None:
            break
        cursor = following
    return Walk(times, cursor)


def _stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def report_month(sizes: Sizes) -> str:
    """The last whole month of the year: the one a report would be signed for."""
    end = datetime.fromtimestamp(sizes.end, UTC).replace(day=1)
    return (end - timedelta(days=1)).strftime("%Y-%m")


def _q(**query: str | int) -> str:
    return urlencode(query)


def read_cases(sizes: Sizes, *, incident_id: int, fingerprint: str) -> Iterator[Case]:
    """Every read case, for a year of `sizes`."""
    busy, quiet = service_name(0), service_name(sizes.services // 2)
    week_ago, first_month = _stamp(sizes.end - 7 * 86_400), _stamp(sizes.start + 30 * 86_400)
    alerts = "/api/v1/alerts?limit=100"
    yield Case("alerts: first page", alerts)
    for name, query in (
        ("status=firing", _q(status="firing")),
        ("status=resolved", _q(status="resolved")),
        ("fingerprint", _q(fingerprint=fingerprint)),
        (f"service (busiest, {busy})", _q(service=busy)),
        (f"service (quiet, {quiet})", _q(service=quiet)),
        ("level=critical", _q(level="critical")),
        ("priority=P1", _q(priority="P1")),
        ("impact=outage", _q(impact="outage")),
        ("category=network", _q(category="network")),
        ("source=alertmanager", _q(source="alertmanager")),
        ("incident_id", _q(incident_id=incident_id)),
        ("label filter team=", _q(filter='team="team-07"')),
        ("label filter =~", _q(filter='alertname=~"Packet.*"')),
        ("since a week ago", _q(since=week_ago)),
        ("until the first month", _q(until=first_month)),
    ):
        yield Case(f"alerts: {name}", f"{alerts}&{query}")
    incidents = "/api/v1/incidents?limit=100"
    yield Case("incidents: first page", incidents)
    for name, query in (
        ("state=open", _q(state="open")),
        ("state=acknowledged", _q(state="acknowledged")),
        ("state=resolved", _q(state="resolved")),
        ("state=closed", _q(state="closed")),
        ("priority=P1", _q(priority="P1")),
        (f"service (busiest, {busy})", _q(service=busy)),
        (f"service (quiet, {quiet})", _q(service=quiet)),
        ("source=manual", _q(source="manual")),
        ("level=critical", _q(level="critical")),
        ("category=network", _q(category="network")),
        ("impact=outage", _q(impact="outage")),
        ("breached=true", _q(breached="true")),
        ("breached=false", _q(breached="false")),
        ("acknowledged_by=alice", _q(acknowledged_by="alice")),
        ("since a week ago", _q(since=week_ago)),
        ("until the first month", _q(until=first_month)),
    ):
        yield Case(f"incidents: {name}", f"{incidents}&{query}")
    yield Case("incident detail", f"/api/v1/incidents/{incident_id}")
    month = report_month(sizes)
    yield Case(
        f"availability: {quiet}, {month}", f"/api/v1/services/{quiet}/availability?month={month}"
    )
    yield Case(
        f"availability: {busy}, {month}", f"/api/v1/services/{busy}/availability?month={month}"
    )
    yield Case("services overview", "/api/v1/services")
    yield Case(f"report: all services, {month}", f"/api/v1/reports/availability?month={month}")
    yield Case("metrics scrape", "/metrics")
