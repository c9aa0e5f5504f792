"""Thin clients for the real processes of the end-to-end tests: slakeeper, Alertmanager and
Prometheus. Each answer is checked for its status, so a test reads plain JSON."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.loopback import ScrapeTarget
from tests.e2e.support import WAIT_TIMEOUT, ManagedProcess, Service, rfc3339

__all__ = [
    "Alertmanager",
    "DirectPrometheus",
    "Prometheus",
    "SlakeeperServer",
    "metric_sum",
    "metric_value",
]


def _json(response: httpx.Response) -> Any:
    if not response.is_success:
        raise AssertionError(
            f"{response.request.method} {response.request.url} answered "
            f"{response.status_code}: {response.text}"
        )
    return response.json()


def _samples(exposition: str, name: str) -> Iterator[tuple[dict[str, str], float]]:
    for found in re.finditer(
        rf"^{re.escape(name)}(?:\{{(?P<labels>[^}}]*)\}})? (?P<value>\S+)$",
        exposition,
        re.MULTILINE,
    ):
        pairs = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', found.group("labels") or ""))
        yield pairs, float(found.group("value"))


def metric_value(exposition: str, name: str, labels: Mapping[str, str]) -> float | None:
    """The value of the sample `name{labels}` (exactly those labels, in any order), if any."""
    return next((value for pairs, value in _samples(exposition, name) if pairs == labels), None)


def metric_sum(exposition: str, name: str, labels: Mapping[str, str]) -> float:
    """The sum of the samples of `name` that have (at least) `labels`."""
    return sum(
        value for pairs, value in _samples(exposition, name) if labels.items() <= pairs.items()
    )


@dataclass(frozen=True, eq=False)
class SlakeeperServer:
    """A `slakeeper serve` process (restartable on its port) and a client for its API."""

    name: str
    """The backend (`sqlite`, `postgresql`): test ids and contacts' webhook paths use it."""
    database_url: str
    service: Service
    client: httpx.Client

    @property
    def backend(self) -> str:
        return self.name

    @property
    def url(self) -> str:
        return self.service.url

    @property
    def address(self) -> str:
        return self.service.address

    @property
    def process(self) -> ManagedProcess:
        return self.service.process

    def get(self, path: str, **params: Any) -> Any:
        """`GET path` as JSON; a dead server says so, with its log."""
        try:
            response = self.client.get(f"{self.url}{path}", params=params)
        except httpx.TransportError:
            self.process.check_running()
            raise
        return _json(response)

    def post(self, path: str, body: Mapping[str, Any]) -> Any:
        return _json(self.client.post(f"{self.url}{path}", json=dict(body)))

    def alerts(self, *matchers: str, **params: str) -> list[dict[str, Any]]:
        """`GET /api/v1/alerts` with label `matchers` (as `filter=`) and other parameters."""
        items: list[dict[str, Any]] = self.get("/api/v1/alerts", **params, filter=list(matchers))[
            "items"
        ]
        return items

    def alerts_named(self, alertname: str, *matchers: str, **params: str) -> list[dict[str, Any]]:
        return self.alerts(f'alertname="{alertname}"', *matchers, **params)

    def incidents(self, **params: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.get("/api/v1/incidents", **params)["items"]
        return items

    def incident(self, incident_id: int) -> dict[str, Any]:
        """One incident with its `alerts` and `timeline`."""
        found: dict[str, Any] = self.get(f"/api/v1/incidents/{incident_id}")
        return found

    def availability(self, service: str, start: datetime, end: datetime) -> dict[str, Any]:
        figures: dict[str, Any] = self.get(
            f"/api/v1/services/{service}/availability", **{"from": rfc3339(start)}, to=rfc3339(end)
        )
        return figures

    def metrics(self) -> str:
        response = self.client.get(f"{self.url}/metrics")
        response.raise_for_status()
        return response.text


@dataclass(frozen=True, eq=False)
class Alertmanager:
    """A real Alertmanager whose webhook receiver is slakeeper (directly or through a relay)."""

    url: str
    process: ManagedProcess
    amtool_path: Path
    client: httpx.Client
    env: Mapping[str, str]
    receivers: tuple[str, ...]

    def amtool(self, *args: str) -> str:
        command = [str(self.amtool_path), f"--alertmanager.url={self.url}", *args]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=WAIT_TIMEOUT, env=dict(self.env)
        )
        if done.returncode != 0:
            raise AssertionError(
                f"{' '.join(command)} exited with {done.returncode}\n"
                f"stdout: {done.stdout}\nstderr: {done.stderr}"
            )
        return done.stdout

    def add_alert(
        self,
        labels: Mapping[str, str],
        annotations: Mapping[str, str] | None = None,
        *,
        end: datetime | None = None,
    ) -> None:
        """`amtool alert add`; with `end`, the alert ends then (resolved, once in the past)."""
        args = ["alert", "add", *(f"{name}={value}" for name, value in labels.items())]
        args += [f"--annotation={name}={value}" for name, value in (annotations or {}).items()]
        if end is not None:
            args.append(f"--end={rfc3339(end)}")
        self.amtool(*args)

    def alerts_named(self, alertname: str) -> list[dict[str, Any]]:
        """Alertmanager's own view (`GET /api/v2/alerts`), with its fingerprints."""
        alerts: list[dict[str, Any]] = _json(
            self.client.get(
                f"{self.url}/api/v2/alerts", params={"filter": f'alertname="{alertname}"'}
            )
        )
        return alerts

    def alerts_matching(self, *matchers: str) -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = _json(
            self.client.get(f"{self.url}/api/v2/alerts", params={"filter": list(matchers)})
        )
        return alerts

    def counter(self, name: str, **labels: str) -> float:
        """A counter of Alertmanager's own `/metrics`, summed over the samples with `labels`."""
        response = self.client.get(f"{self.url}/metrics")
        response.raise_for_status()
        return metric_sum(response.text, name, labels)


@dataclass(frozen=True, eq=False)
class Prometheus:
    """A real Prometheus: its query API and what its notifier did."""

    url: str
    process: ManagedProcess
    client: httpx.Client
    target: ScrapeTarget
    """The scrape target whose series the tests set, so that rules fire and resolve."""

    def query(self, expr: str, at: datetime | None = None) -> list[dict[str, Any]]:
        """`GET /api/v1/query`: the result vector (or matrix, for a range selector)."""
        params = {"query": expr} | ({"time": rfc3339(at)} if at is not None else {})
        answer = _json(self.client.get(f"{self.url}/api/v1/query", params=params))
        assert answer["status"] == "success", answer
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result

    def firing_samples(self, selector: str, lookback: str = "5m") -> list[float]:
        """Timestamps (Unix seconds) of the evaluations at which `ALERTS{selector}` fired."""
        series = self.query(f'ALERTS{{alertstate="firing",{selector}}}[{lookback}]')
        assert len(series) <= 1, f"more than one alert matches {selector}: {series}"
        return [float(at) for at, _value in series[0]["values"]] if series else []

    def active_at(self, selector: str) -> float | None:
        """When the alert of `selector` became active (Unix seconds), from ALERTS_FOR_STATE."""
        series = self.query(f"last_over_time(ALERTS_FOR_STATE{{{selector}}}[5m])")
        assert len(series) <= 1, f"more than one alert matches {selector}: {series}"
        return float(series[0]["value"][1]) if series else None

    def active_alert(self, labels: Mapping[str, str]) -> dict[str, Any] | None:
        """The alert `GET /api/v1/alerts` lists with (at least) these labels, if any."""
        answer = _json(self.client.get(f"{self.url}/api/v1/alerts"))
        found = [
            alert for alert in answer["data"]["alerts"] if labels.items() <= alert["labels"].items()
        ]
        assert len(found) <= 1, f"more than one alert has the labels {labels}: {found}"
        return found[0] if found else None

    def active_alertmanagers(self) -> list[str]:
        answer = _json(self.client.get(f"{self.url}/api/v1/alertmanagers"))
        return [entry["url"] for entry in answer["data"]["activeAlertmanagers"]]

    def rule_groups(self) -> list[dict[str, Any]]:
        answer = _json(self.client.get(f"{self.url}/api/v1/rules"))
        groups: list[dict[str, Any]] = answer["data"]["groups"]
        return groups

    def notification_counter(self, name: str, alertmanager_url: str) -> float | None:
        """A per-alertmanager counter of Prometheus' notifier, from its `/metrics`."""
        response = self.client.get(f"{self.url}/metrics")
        response.raise_for_status()
        return metric_value(response.text, name, {"alertmanager": alertmanager_url})


@dataclass(frozen=True, eq=False)
class DirectPrometheus(Prometheus):
    """The Prometheus whose alertmanagers are the slakeeper servers themselves."""

    always_firing: Mapping[str, str]
    """Labels of the alert of `expr: vector(1)`: it fires from the first evaluation on."""
    switched_alertname: str
    """Name of the alert of `expr: e2e_switch > 0`, one instance per `case` label."""
