"""Real processes for the end-to-end tests, started once per session.

- `slakeeper_fleet`: `slakeeper serve` on SQLite and on PostgreSQL, side by side, with the
  e2e rule file (`configs.slakeeper_rules`) and an SLA job every second
  (`configs.sla_job_settings`); contacts' webhooks go to `contacts`;
- `restart_stack`, `reconcile_stack`: fleets of their own for the scenarios that stop
  slakeeper or drop its notifications, each behind an Alertmanager of its own (the
  reconciliation one through a `WebhookRelay`; its servers reconcile with it every 2 s,
  after a 10 s grace: `configs.reconciliation_settings`);
- `real_sources`: Alertmanager (webhook to every server of the fleet); Prometheus #1, which
  scrapes the `ScrapeTarget` and the fleet's `/metrics` (job `slakeeper`), evaluates the
  two-level rules and the output of `slakeeper rules prometheus`, and sends to that
  Alertmanager and to the stacks' ones; Prometheus #2, whose alertmanagers are the fleet's
  servers themselves (`POST /api/v2/alerts`);
- `slakeeper`: parametrized over the two databases, so every test runs against both.

Every process is stopped at the end of the session (terminate, wait, kill), its output
goes to a log file, and a failing test gets the tail of every log in its report. The
latencies the tests measure are printed in the terminal summary.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import missing
from tests.e2e.clients import Alertmanager, DirectPrometheus, Prometheus, SlakeeperServer
from tests.e2e.configs import (
    alertmanager_config,
    prometheus_config,
    reconciliation_settings,
    sla_job_settings,
    two_level_rules,
)
from tests.e2e.launch import (
    BACKENDS,
    report_crashes,
    require,
    serve_fleet,
    slo_rules,
    start_alertmanager,
    start_prometheus,
)
from tests.e2e.loopback import ScrapeTarget, WebhookRelay
from tests.e2e.scenario import ErrorRatio
from tests.e2e.stacks import ReconcileStack, SlakeeperFleet, Stack
from tests.e2e.support import (
    ManagedProcess,
    ProcessGroup,
    child_environment,
    unique_name,
    write_config,
)
from tests.integration.receiver import WebhookReceiver

PROCESSES = pytest.StashKey[list[ManagedProcess]]()
MEASUREMENTS = pytest.StashKey[list[str]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the tail of every process' log to a failing test's report."""
    report = yield
    if report.failed:
        for process in item.config.stash.get(PROCESSES, []):
            report.sections.append((f"log of {process.name}", process.describe()))
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    measured = terminalreporter.config.stash.get(MEASUREMENTS, [])
    if measured:
        terminalreporter.section("end-to-end measurements")
        for line in measured:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def measurements(request: pytest.FixtureRequest) -> list[str]:
    """Lines for the terminal summary (shown without `-s`, in CI's output too)."""
    return request.config.stash.setdefault(MEASUREMENTS, [])


@pytest.fixture(scope="session")
def process_registry(request: pytest.FixtureRequest) -> list[ManagedProcess]:
    """Every process the e2e fixtures started, for the failure reports."""
    return request.config.stash.setdefault(PROCESSES, [])


@pytest.fixture(scope="session")
def e2e_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Configurations, data and logs of this session's processes (kept by pytest)."""
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def http() -> Iterator[httpx.Client]:
    # trust_env=False: a proxy from the environment must not see loopback traffic.
    with httpx.Client(timeout=10, trust_env=False) as client:
        yield client


@pytest.fixture(scope="session")
def contacts() -> Iterator[WebhookReceiver]:
    """The contacts' webhooks of every server: `/<stack>-<backend>/<contact>`."""
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="session")
def slakeeper_fleet(
    e2e_dir: Path,
    http: httpx.Client,
    process_registry: list[ManagedProcess],
    contacts: WebhookReceiver,
) -> Iterator[SlakeeperFleet]:
    """The servers every source sends to, on SQLite and on PostgreSQL."""
    with serve_fleet(
        "main", e2e_dir / "main", http, process_registry, contacts.url, sla_job_settings()
    ) as fleet:
        yield fleet


@pytest.fixture(params=BACKENDS)
def slakeeper(request: pytest.FixtureRequest, slakeeper_fleet: SlakeeperFleet) -> SlakeeperServer:
    """The slakeeper server on SQLite, then the one on PostgreSQL."""
    backend: str = request.param
    server = slakeeper_fleet.servers.get(backend)
    if server is None:
        unavailable = slakeeper_fleet.unavailable[backend]
        if unavailable.failed:
            pytest.fail(unavailable.reason, pytrace=False)
        missing(unavailable.reason)
    server.process.check_running()
    return server


@pytest.fixture(scope="session")
def restart_stack(
    e2e_dir: Path,
    http: httpx.Client,
    process_registry: list[ManagedProcess],
    contacts: WebhookReceiver,
) -> Iterator[Stack]:
    """Servers a test may stop and start again, and the Alertmanager that keeps sending."""
    binary, amtool = require("prometheus-alertmanager", "alertmanager"), require("amtool")
    workdir = e2e_dir / "restart"
    with serve_fleet("restart", workdir, http, process_registry, contacts.url) as fleet:
        webhooks = [
            f"{server.url}/api/v1/webhooks/alertmanager" for server in fleet.servers.values()
        ]
        config = write_config(
            workdir / "alertmanager.yml", alertmanager_config(webhooks, only="restart")
        )
        service = start_alertmanager(fleet.group, "alertmanager-restart", config, workdir, binary)
        service.wait_ready(http)
        yield Stack(
            "restart",
            fleet,
            Alertmanager(
                service.url, service.process, amtool, http, fleet.group.env, tuple(webhooks)
            ),
        )


@pytest.fixture(scope="session")
def reconcile_stack(
    e2e_dir: Path,
    http: httpx.Client,
    process_registry: list[ManagedProcess],
    contacts: WebhookReceiver,
) -> Iterator[ReconcileStack]:
    """Servers that reconcile with their Alertmanager, whose webhooks pass a `WebhookRelay`."""
    binary, amtool = require("prometheus-alertmanager", "alertmanager"), require("amtool")
    workdir = e2e_dir / "reconcile"
    workdir.mkdir()
    relay = WebhookRelay()
    try:
        webhooks = [f"{relay.url}/{backend}" for backend in BACKENDS]
        config = write_config(
            workdir / "alertmanager.yml", alertmanager_config(webhooks, only="reconcile")
        )
        with ProcessGroup(workdir, child_environment(workdir), process_registry) as group:
            # Alertmanager first: the servers are told its URL when they start.
            service = start_alertmanager(group, "alertmanager-reconcile", config, workdir, binary)
            service.wait_ready(http)
            env = reconciliation_settings(service.url)
            with serve_fleet(
                "reconcile", workdir / "fleet", http, process_registry, contacts.url, env
            ) as fleet:
                for backend, server in fleet.servers.items():
                    relay.targets[backend] = f"{server.url}/api/v1/webhooks/alertmanager"
                alertmanager = Alertmanager(
                    service.url, service.process, amtool, http, group.env, tuple(webhooks)
                )
                yield ReconcileStack("reconcile", fleet, alertmanager, relay)
            crashed = group.crashed()
    finally:
        relay.close()
    report_crashes(crashed)


@dataclass(frozen=True)
class RealSources:
    alertmanager: Alertmanager
    prometheus: Prometheus
    direct_prometheus: DirectPrometheus


@pytest.fixture(scope="session")
def real_sources(
    slakeeper_fleet: SlakeeperFleet,
    restart_stack: Stack,
    reconcile_stack: ReconcileStack,
    e2e_dir: Path,
    http: httpx.Client,
    process_registry: list[ManagedProcess],
) -> Iterator[RealSources]:
    """Alertmanager and the two Prometheus servers (see the module's docstring)."""
    alertmanager_binary = require("prometheus-alertmanager", "alertmanager")
    amtool_binary = require("amtool")
    prometheus_binary = require("prometheus")
    servers = list(slakeeper_fleet.servers.values())
    workdir = e2e_dir / "sources"
    workdir.mkdir()

    receivers = tuple(f"{server.url}/api/v1/webhooks/alertmanager" for server in servers)
    alertmanager_config_file = write_config(
        workdir / "alertmanager.yml", alertmanager_config(receivers)
    )
    two_level = write_config(workdir / "two-level-rules.yml", two_level_rules())
    slo = slo_rules(slakeeper_fleet, workdir / "slakeeper-slo-rules.yml")

    always_firing = {
        "alertname": unique_name("E2EAlwaysFiring"),
        "severity": "critical",
        "service": "e2e",
    }
    switched_alertname = unique_name("E2ESwitchedOn")
    direct_rules = write_config(
        workdir / "direct-rules.yml",
        {
            "groups": [
                {
                    "name": "slakeeper-e2e-direct",
                    "interval": "1s",
                    "rules": [
                        {
                            "alert": always_firing["alertname"],
                            "expr": "vector(1)",
                            "for": "0s",
                            "labels": {"severity": "critical", "service": "e2e"},
                            "annotations": {"summary": "always firing (value {{ $value }})"},
                        },
                        {
                            "alert": switched_alertname,
                            "expr": "e2e_switch > 0",
                            "for": "0s",
                            "labels": {"severity": "warning", "service": "e2e"},
                            "annotations": {"summary": "switch {{ $labels.case }} is on"},
                        },
                    ],
                }
            ]
        },
    )

    target = ScrapeTarget()
    try:
        with ProcessGroup(workdir, child_environment(workdir), process_registry) as group:
            alertmanager = start_alertmanager(
                group, "alertmanager", alertmanager_config_file, workdir, alertmanager_binary
            )
            alertmanager.wait_ready(http)
            prometheus_config_file = write_config(
                workdir / "prometheus.yml",
                prometheus_config(
                    rule_files=[str(two_level), str(slo)],
                    alertmanagers=[
                        alertmanager.address,
                        restart_stack.alertmanager.url.removeprefix("http://"),
                        reconcile_stack.alertmanager.url.removeprefix("http://"),
                    ],
                    scrape={
                        "e2e-target": [target.address],
                        "slakeeper": [server.address for server in servers],
                    },
                ),
            )
            direct_config_file = write_config(
                workdir / "direct-prometheus.yml",
                prometheus_config(
                    rule_files=[str(direct_rules)],
                    alertmanagers=[server.address for server in servers],
                    scrape={"e2e-switch": [target.address]},
                ),
            )
            prometheus = start_prometheus(
                group, "prometheus", prometheus_config_file, workdir, prometheus_binary
            )
            direct = start_prometheus(
                group, "prometheus-direct", direct_config_file, workdir, prometheus_binary
            )
            prometheus.wait_ready(http)
            direct.wait_ready(http)
            yield RealSources(
                Alertmanager(
                    alertmanager.url,
                    alertmanager.process,
                    amtool_binary,
                    http,
                    group.env,
                    receivers,
                ),
                Prometheus(prometheus.url, prometheus.process, http, target),
                DirectPrometheus(
                    direct.url, direct.process, http, target, always_firing, switched_alertname
                ),
            )
            crashed = group.crashed()
    finally:
        target.close()
    report_crashes(crashed)


@pytest.fixture
def alertmanager(real_sources: RealSources) -> Alertmanager:
    real_sources.alertmanager.process.check_running()
    return real_sources.alertmanager


@pytest.fixture
def prometheus(real_sources: RealSources) -> Prometheus:
    """Prometheus #1: two-level rules, alerts through Alertmanager's webhook."""
    real_sources.prometheus.process.check_running()
    return real_sources.prometheus


@pytest.fixture
def direct_prometheus(real_sources: RealSources) -> DirectPrometheus:
    """Prometheus #2: alerts straight to slakeeper's `POST /api/v2/alerts`."""
    real_sources.direct_prometheus.process.check_running()
    return real_sources.direct_prometheus


@pytest.fixture
def error_ratio(prometheus: Prometheus) -> Iterator[Callable[..., ErrorRatio]]:
    """Makes `ErrorRatio`s of services of their own; their series go when the test ends."""
    made: list[ErrorRatio] = []

    def make(**extra: str) -> ErrorRatio:
        ratio = ErrorRatio(prometheus, unique_name("svc-"), extra)
        made.append(ratio)
        return ratio

    yield make
    for ratio in made:
        ratio.clear()
