"""Every panel of the Grafana dashboards returns data from a real Prometheus scraping a
slakeeper that `slakeeper demo` loaded, as a fresh install would show them.

The stack is this module's own: `slakeeper demo` into a fresh SQLite file, `slakeeper
serve` on it (shipped rules, scheduler on, so the demo's open incidents escalate), and a
Prometheus scraping it every second with the rules `slakeeper rules prometheus` generates.
Once Prometheus has scraped, a NOC shift happens through the API (an outage comes in, an
incident is acknowledged, another resolved), so that rates over the panels' ranges have
something to show; then every panel expression, Grafana's variables filled in as Grafana
would, must return a non-empty result.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import missing
from tests.e2e.launch import start_prometheus
from tests.e2e.support import (
    ManagedProcess,
    ProcessGroup,
    Service,
    child_environment,
    find_binary,
    wait_until,
    write_config,
)
from tests.integration.test_dashboard_expressions import substitute
from tests.unit.test_dashboards import dashboard_targets

ROOT = Path(__file__).resolve().parents[2]
SLAKEEPER = Path(sys.executable).parent / "slakeeper"


@dataclass(frozen=True)
class DemoStack:
    slakeeper: Service
    prometheus: Service
    http: httpx.Client

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, self.slakeeper.url + path, **kwargs)
        assert response.status_code < 300, f"{method} {path}: {response.text}"
        return response.json() if response.content else None

    def query(self, expr: str) -> list[dict[str, Any]]:
        response = self.http.get(self.prometheus.url + "/api/v1/query", params={"query": expr})
        body = response.json()
        assert body["status"] == "success", f"{expr}: {body}"
        result: list[dict[str, Any]] = body["data"]["result"]
        return result


def _run(*args: str, timeout: float = 300) -> str:
    done = subprocess.run(
        [str(SLAKEEPER), *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        pytest.fail(f"slakeeper {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return done.stdout


@pytest.fixture(scope="module")
def demo_stack(
    e2e_dir: Path, http: httpx.Client, process_registry: list[ManagedProcess]
) -> Iterator[DemoStack]:
    prometheus_binary = find_binary("prometheus")
    if prometheus_binary is None:
        missing("prometheus not found on PATH or in /usr/bin")
    workdir = e2e_dir / "dashboards"
    workdir.mkdir()
    database = f"sqlite:///{workdir / 'demo.db'}"
    _run("demo", f"--database-url={database}", "--quiet")
    rules = workdir / "slo-rules.yml"
    _run("rules", "prometheus", str(ROOT / "rules" / "default.yaml"), f"--out={rules}")
    with ProcessGroup(workdir, child_environment(workdir), process_registry) as group:
        slakeeper = group.start(
            "slakeeper-demo",
            lambda port: [
                str(SLAKEEPER),
                "serve",
                "--host=127.0.0.1",
                f"--port={port}",
                f"--database-url={database}",
            ],
            "/readyz",
        ).wait_ready(http)
        config = write_config(
            workdir / "prometheus.yml",
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(rules)],
                "scrape_configs": [
                    {"job_name": "slakeeper", "static_configs": [{"targets": [slakeeper.address]}]}
                ],
            },
        )
        prometheus = start_prometheus(
            group, "prometheus-dashboards", config, workdir, prometheus_binary
        ).wait_ready(http)
        yield DemoStack(slakeeper, prometheus, http)


def _firing(alertname: str, **labels: str) -> dict[str, Any]:
    return {
        "status": "firing",
        "labels": {"alertname": alertname, **labels},
        "annotations": {"summary": alertname},
        "startsAt": "2026-01-01T00:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "",
    }


def _a_noc_shift(stack: DemoStack) -> str:
    """A target goes down and two warnings fire; the outage's incident is acknowledged, the
    first warning's resolved, the second's left waiting. Returns the service that is down."""
    services = [item["name"] for item in stack.api("GET", "/api/v1/services")["items"]]
    first, second, third = services[:3]
    alerts = [
        _firing("InstanceDown", service=first, instance="e2e:1", severity="critical"),
        _firing("E2EDiskFilling", service=second, severity="warning"),
        _firing("E2EDiskFilling", service=third, severity="warning"),
    ]
    for alert in alerts:
        stack.api(
            "POST",
            "/api/v1/webhooks/alertmanager",
            json={
                "version": "4",
                "groupKey": f"{{}}:{{alertname={alert['labels']['alertname']!r}}}",
                "truncatedAlerts": 0,
                "status": "firing",
                "receiver": "slakeeper",
                "groupLabels": {"alertname": alert["labels"]["alertname"]},
                "commonLabels": alert["labels"],
                "commonAnnotations": {},
                "externalURL": "http://127.0.0.1:9093",
                "alerts": [alert],
            },
        )
    for service, action in ((first, "ack"), (second, "resolve")):
        opened = stack.api("GET", "/api/v1/incidents", params={"service": service, "state": "open"})
        newest = opened["items"][0]
        stack.api("POST", f"/api/v1/incidents/{newest['id']}/{action}", json={"actor": "e2e"})
    return str(first)


@pytest.mark.e2e
def test_every_dashboard_panel_returns_data_from_real_prometheus(demo_stack: DemoStack) -> None:
    # Wait for the first scrape, so the shift's changes fall inside the panels' ranges.
    wait_until(
        lambda: demo_stack.query("slakeeper_service_up"),
        what="Prometheus to scrape slakeeper's service-level metrics",
    )
    down_service = _a_noc_shift(demo_stack)
    queries = [
        (f"{name} / {panel['title']} / {target['refId']}", substitute(target["expr"]))
        for name, panel, target in dashboard_targets()
    ]

    def empty() -> list[str]:
        return [f"{where}: {expr}" for where, expr in queries if not demo_stack.query(expr)]

    try:
        wait_until(lambda: not empty(), 60, 1, what="every panel to have data")
    except AssertionError:
        pytest.fail("panels without data:\n" + "\n".join(empty()))
    assert len(queries) > 40
    down = demo_stack.query("max by (service) (slakeeper_service_up) == 0")
    assert down_service in {item["metric"]["service"] for item in down}
    # The month's availability is the figure the compliance report signs.
    month = demo_stack.query('slakeeper_service_availability_ratio{window="month"}')
    assert month and all(0 <= float(item["value"][1]) <= 1 for item in month)
