"""The soak's traffic: Alertmanager, people reading the API and the console, Prometheus.

Each kind of client runs in its own thread on its own keep-alive connection, at a bounded
rate, until `stop` is set; `Tally` counts every answer by route and status.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from benchmarks.harness.servers import LOOPBACK, WEBHOOK_PATH

__all__ = ["SERVICES", "Alerts", "Client", "Tally", "Traffic"]

SERVICES = ("payments", "checkout", "search", "auth", "storage", "mail", "billing", "gateway")
ALERT_NAMES = tuple(
    f"{kind}{part}"
    for kind in ("HighLatency", "HighErrorRate", "DiskFull", "InstanceDown", "QueueBacklog")
    for part in ("", "Api", "Worker", "Db", "Cache", "Edge")
)
SEVERITIES = ("critical", "warning", "warning", "warning", "info")
NO_END = "0001-01-01T00:00:00Z"
FIRING_KEPT = 400  # alerts firing at once; beyond, the oldest resolves


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Tally:
    """Answers by route and status, from every thread."""

    counts: Counter[tuple[str, int]] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, route: str, status: int) -> None:
        with self.lock:
            self.counts[(route, status)] += 1

    def routes(self) -> set[str]:
        with self.lock:
            return {route for route, status in self.counts if status < 400}

    def summary(self) -> list[str]:
        with self.lock:
            return [
                f"{route} {status}: {n:,}" for (route, status), n in sorted(self.counts.items())
            ]


class Client:
    """One keep-alive connection to the server; reconnects after an error."""

    def __init__(self, port: int, tally: Tally, headers: dict[str, str] | None = None) -> None:
        self.port, self.tally, self.headers = port, tally, dict(headers or {})
        self.connection: http.client.HTTPConnection | None = None
        self.cookies: dict[str, str] | None = None  # a browser's jar, for those that keep one

    def call(
        self,
        route: str,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes, http.client.HTTPResponse | None]:
        """Send one request; status 0 for a connection error. A kept connection the server
        closed while idle (uvicorn keeps one for 5 s) is opened again once."""
        for attempt in (1, 2):
            reused = self.connection is not None
            if self.connection is None:
                self.connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=120)
            try:
                self.connection.request(method, path, body, {**self.headers, **(headers or {})})
                response = self.connection.getresponse()
                data = response.read()
                break
            except (OSError, http.client.HTTPException):
                self.connection.close()
                self.connection = None
                if not reused or attempt == 2:
                    self.tally.add(route, 0)
                    return 0, b"", None
        self.tally.add(route, response.status)
        if self.cookies is not None:
            for cookie in response.headers.get_all("Set-Cookie") or []:
                name, _, value = cookie.split(";")[0].partition("=")
                self.cookies[name] = value
            self.headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items() if v)
        return response.status, data, response


class Alerts:
    """The alerts Alertmanager knows: new ones with label values never seen before, repeats
    and resolutions of those firing, and now and then one very large group."""

    def __init__(self, chance: random.Random) -> None:
        self.chance = chance
        self.made = 0
        self.firing: deque[dict[str, Any]] = deque()

    def _alert(self, service: str, name: str, severity: str, starts: str) -> dict[str, Any]:
        self.made += 1
        n = self.made
        labels = {
            "alertname": name,
            "service": service,
            "severity": severity,
            "job": service,
            "instance": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}:9100",
            "pod": f"{service}-{self.made:x}-{self.chance.randrange(16**5):05x}",
        }
        return {
            "status": "firing",
            "labels": labels,
            "startsAt": starts,
            "endsAt": NO_END,
            "annotations": {"summary": f"{name} on {labels['instance']}"},
            "generatorURL": f"http://prometheus:9090/graph?g0.expr={name}",
            "fingerprint": f"5{self.made:015x}",
        }

    def new_group(self) -> list[dict[str, Any]]:
        service, name = self.chance.choice(SERVICES), self.chance.choice(ALERT_NAMES)
        severity, now = self.chance.choice(SEVERITIES), _now()
        alerts = [
            self._alert(service, name, severity, now) for _ in range(self.chance.randint(1, 3))
        ]
        self.firing.extend(alerts)
        return alerts

    def repeat(self) -> list[dict[str, Any]]:
        if not self.firing:
            return self.new_group()
        alert = self.chance.choice(self.firing)
        alert["annotations"] = {"summary": f"value {self.chance.random():.3f}"}
        return [alert]

    def resolve(self) -> list[dict[str, Any]]:
        if not self.firing:
            return self.new_group()
        return [resolved(self.firing.popleft())]

    def big_group(self, size: int, severity: str = "critical") -> list[dict[str, Any]]:
        service, now = self.chance.choice(SERVICES), _now()
        return [self._alert(service, "NodeExporterDown", severity, now) for _ in range(size)]


def resolved(alert: dict[str, Any]) -> dict[str, Any]:
    return {**alert, "status": "resolved", "endsAt": _now()}


def webhook(alerts: list[dict[str, Any]]) -> bytes:
    """Alertmanager's webhook (version 4) of one group."""
    first = alerts[0]["labels"]
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    group = {"alertname": first["alertname"], "service": first["service"]}
    return json.dumps(
        {
            "version": "4",
            "status": status,
            "receiver": "slakeeper",
            "alerts": alerts,
            "groupLabels": group,
            "commonLabels": group,
            "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093",
            "truncatedAlerts": 0,
            "groupKey": "{}:" + json.dumps(group, sort_keys=True),
        }
    ).encode()


@dataclass
class Traffic:
    """The soak's clients and their rates; `threads()` starts nothing, `run` does."""

    port: int
    tally: Tally
    stop: threading.Event
    ingest_token: str
    reader_token: str
    username: str
    password: str
    pushes_per_second: float = 6.0
    reads_per_second: float = 2.0
    big_every_s: float = 300.0
    big_size: int = 2000
    big_severity: str = "critical"  # the shipped rules: critical is degraded time, warning none
    seed: int = 20
    incident_ids: list[int] = field(default_factory=list)

    def _paced(self, per_second: float, step: Callable[[int], object]) -> None:
        tick, interval = 0, 1.0 / per_second
        started = time.monotonic()
        while not self.stop.is_set():
            step(tick)
            tick += 1
            self.stop.wait(max(0.0, started + tick * interval - time.monotonic()))

    def alertmanager(self) -> None:
        chance, alerts = random.Random(self.seed), Alerts(random.Random(self.seed + 1))
        client = Client(
            self.port,
            self.tally,
            {"Authorization": f"Bearer {self.ingest_token}", "Content-Type": "application/json"},
        )
        big: list[dict[str, Any]] = []
        last_big = time.monotonic()

        def step(_: int) -> None:
            nonlocal big, last_big
            if time.monotonic() - last_big > self.big_every_s / 2:
                last_big = time.monotonic()
                # A large group fires, and resolves half a period later.
                group = (
                    [resolved(a) for a in big]
                    if big
                    else alerts.big_group(self.big_size, self.big_severity)
                )
                big = [] if big else group
                client.call("webhook (large)", "POST", WEBHOOK_PATH, webhook(group))
                return
            draw = chance.random()
            if len(alerts.firing) > FIRING_KEPT or draw < 0.25:
                group = alerts.resolve()
            else:
                group = alerts.new_group() if draw < 0.65 else alerts.repeat()
            client.call("webhook", "POST", WEBHOOK_PATH, webhook(group))

        self._paced(self.pushes_per_second, step)

    def _read_paths(self, chance: random.Random) -> list[tuple[str, str]]:
        service, month = chance.choice(SERVICES), datetime.now(UTC).strftime("%Y-%m")
        matcher = quote(f'alertname="{chance.choice(ALERT_NAMES)}"')  # a label filter
        paths = [
            ("alerts", "/api/v1/alerts?limit=50&status=firing"),
            ("alerts", f"/api/v1/alerts?limit=100&service={service}&filter={matcher}"),
            ("incidents", "/api/v1/incidents?limit=50&state=open&state=acknowledged"),
            ("incidents", f"/api/v1/incidents?limit=100&service={service}"),
            ("services", "/api/v1/services"),
            ("availability", f"/api/v1/services/{service}/availability?month={month}"),
            ("report", f"/api/v1/reports/availability?month={month}"),
            ("report csv", f"/api/v1/reports/availability?month={month}&format=csv"),
        ]
        if self.incident_ids:
            paths.append(("incident", f"/api/v1/incidents/{chance.choice(self.incident_ids)}"))
        return paths

    def reader(self) -> None:
        chance = random.Random(self.seed + 2)
        client = Client(self.port, self.tally, {"Authorization": f"Bearer {self.reader_token}"})

        def step(tick: int) -> None:
            if tick % 20 == 0:
                status, body, _ = client.call("incidents", "GET", "/api/v1/incidents?limit=200")
                if status == 200:
                    self.incident_ids[:] = [item["id"] for item in json.loads(body)["items"]]
            if tick % 30 == 15 and self.incident_ids:
                incident = chance.choice(self.incident_ids)
                note = json.dumps({"note": f"looked at {tick}"}).encode()
                action = chance.choice(("ack", "notes"))
                client.call(
                    f"incident {action}",
                    "POST",
                    f"/api/v1/incidents/{incident}/{action}",
                    note,
                    {"Content-Type": "application/json"},
                )
                return
            route, path = chance.choice(self._read_paths(chance))
            client.call(route, "GET", path)

        self._paced(self.reads_per_second, step)

    def _sign_in(self, client: Client, lang: str) -> None:
        """A new session, and the page once in `lang` (remembered in a cookie)."""
        client.cookies = {}
        client.headers.pop("Cookie", None)
        form = f"username={self.username}&password={quote(self.password)}".encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        client.call("console login", "POST", "/login", form, headers)
        client.call("console /", "GET", f"/?lang={lang}")

    def console(self) -> None:
        """A person's browser: the queue polled every 3 s, pages opened now and then, and a
        new sign-in (a new session) every 5 minutes, alternating the language."""
        chance = random.Random(self.seed + 3)
        client = Client(self.port, self.tally)

        def step(tick: int) -> None:
            if tick % 100 == 0:
                self._sign_in(client, ("en", "zh-CN")[tick // 100 % 2])
            pages = [
                ("console /", "/"),
                ("console services", "/services"),
                ("console service", f"/services/{chance.choice(SERVICES)}"),
            ]
            if self.incident_ids:
                pages.append(("console incident", f"/incidents/{chance.choice(self.incident_ids)}"))
            route, path = chance.choice(pages) if tick % 2 else ("console queue", "/console/queue")
            client.call(route, "GET", path)

        self._paced(1 / 3, step)

    def prometheus(self) -> None:
        client = Client(self.port, self.tally)
        self._paced(1 / 15, lambda _: client.call("metrics", "GET", "/metrics"))

    def threads(self) -> list[threading.Thread]:
        return [
            threading.Thread(target=run, name=run.__name__, daemon=True)
            for run in (self.alertmanager, self.reader, self.console, self.prometheus)
        ]
