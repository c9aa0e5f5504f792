"""Real processes for the end-to-end tests, started once per session.

- `slakeeper_fleet`: `slakeeper serve` on SQLite and on PostgreSQL, side by side;
- `real_sources`: one Alertmanager whose webhook receiver posts to every slakeeper server,
  and one Prometheus whose `alerting.alertmanagers` (API v2) are the slakeeper servers
  themselves. Both start together, so Prometheus' start-up (it evaluates and sends only
  after ~6 s) overlaps the Alertmanager tests;
- `slakeeper`: parametrized over the two databases, so every test runs against both.

Every process is stopped at the end of the session (terminate, wait, kill), its output
goes to a log file, and a failing test gets the tail of every log in its report.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import fresh_postgres_database, missing
from tests.e2e.support import (
    Alertmanager,
    ManagedProcess,
    MetricsSwitch,
    ProcessGroup,
    Prometheus,
    SlakeeperServer,
    child_environment,
    find_binary,
    unique_name,
    write_config,
)

BACKENDS = ("sqlite", "postgresql")
PROCESSES = pytest.StashKey[list[ManagedProcess]]()


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


@dataclass(frozen=True)
class Unavailable:
    """Why a database is missing: a skip, or (with CI=true) a failure."""

    reason: str
    failed: bool


@dataclass(frozen=True)
class SlakeeperFleet:
    """The slakeeper servers that could start, and why the others could not."""

    servers: dict[str, SlakeeperServer]
    unavailable: dict[str, Unavailable]


def _serve_command(database_url: str) -> Callable[[int], Sequence[str]]:
    executable = Path(sys.executable).parent / "slakeeper"

    def command(port: int) -> list[str]:
        return [
            str(executable),
            "serve",
            "--host=127.0.0.1",
            f"--port={port}",
            f"--database-url={database_url}",
            "--access-log",
        ]

    return command


@pytest.fixture(scope="session")
def slakeeper_fleet(
    request: pytest.FixtureRequest,
    e2e_dir: Path,
    http: httpx.Client,
    process_registry: list[ManagedProcess],
) -> Iterator[SlakeeperFleet]:
    """`slakeeper serve` on a fresh SQLite file and on a fresh PostgreSQL database."""
    if not (Path(sys.executable).parent / "slakeeper").is_file():
        pytest.fail(f"no slakeeper console script next to {sys.executable}: pip install -e .")
    workdir = e2e_dir / "slakeeper"
    workdir.mkdir()
    database_urls = {"sqlite": f"sqlite:///{workdir / 'slakeeper.db'}"}
    unavailable: dict[str, Unavailable] = {}
    # The database outlives the servers: the stack closes after the process group.
    with (
        ExitStack() as stack,
        ProcessGroup(workdir, child_environment(workdir), process_registry) as group,
    ):
        # SQLite first: it starts while PostgreSQL's database is being created.
        starting = {
            "sqlite": group.start(
                "slakeeper-sqlite", _serve_command(database_urls["sqlite"]), "/readyz"
            )
        }
        try:
            # A database of its own: Prometheus keeps posting to this server all session,
            # and the integration tests empty their shared database between tests.
            database_urls["postgresql"] = stack.enter_context(
                fresh_postgres_database("slakeeper_e2e")
            )
        except (pytest.skip.Exception, pytest.fail.Exception) as outcome:
            # Only the PostgreSQL tests skip (or, in CI, fail); SQLite's still run.
            failed = isinstance(outcome, pytest.fail.Exception)
            unavailable["postgresql"] = Unavailable(outcome.msg or "PostgreSQL unavailable", failed)
        else:
            starting["postgresql"] = group.start(
                "slakeeper-postgresql", _serve_command(database_urls["postgresql"]), "/readyz"
            )
        servers = {
            backend: SlakeeperServer(
                backend, service.wait_ready(http).url, database_urls[backend], service.process, http
            )
            for backend, service in starting.items()
        }
        yield SlakeeperFleet(servers, unavailable)
        crashed = group.crashed()
    _report_crashes(crashed)


def _report_crashes(crashed: Sequence[ManagedProcess]) -> None:
    if crashed:
        details = "\n\n".join(f"died during the session: {p.describe()}" for p in crashed)
        pytest.fail(details, pytrace=False)


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


@dataclass(frozen=True)
class RealSources:
    alertmanager: Alertmanager
    prometheus: Prometheus


def _require(*names: str) -> Path:
    found = find_binary(*names)
    if found is None:
        missing(f"{' or '.join(names)} not found on PATH or in /usr/bin")
    return found


@pytest.fixture(scope="session")
def real_sources(
    slakeeper_fleet: SlakeeperFleet,
    e2e_dir: Path,
    http: httpx.Client,
    process_registry: list[ManagedProcess],
) -> Iterator[RealSources]:
    """Alertmanager and Prometheus, both pointed at every slakeeper server."""
    alertmanager_binary = _require("prometheus-alertmanager", "alertmanager")
    amtool_binary = _require("amtool")
    prometheus_binary = _require("prometheus")
    servers = list(slakeeper_fleet.servers.values())
    workdir = e2e_dir / "sources"
    workdir.mkdir()

    receivers = tuple(f"{server.url}/api/v1/webhooks/alertmanager" for server in servers)
    alertmanager_config = write_config(
        workdir / "alertmanager.yml",
        {
            "route": {
                "receiver": "slakeeper",
                "group_by": ["alertname"],
                "group_wait": "1s",
                "group_interval": "1s",
                "repeat_interval": "1h",
            },
            "receivers": [
                {
                    "name": "slakeeper",
                    "webhook_configs": [
                        {"url": url, "send_resolved": True, "max_alerts": 0} for url in receivers
                    ],
                }
            ],
        },
    )

    always_firing = {
        "alertname": unique_name("E2EAlwaysFiring"),
        "severity": "critical",
        "service": "e2e",
    }
    switched_alertname = unique_name("E2ESwitchedOn")
    rules = write_config(
        workdir / "rules.yml",
        {
            "groups": [
                {
                    "name": "slakeeper-e2e",
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

    switch = MetricsSwitch()
    try:
        prometheus_config = write_config(
            workdir / "prometheus.yml",
            {
                "global": {
                    "scrape_interval": "1s",
                    "scrape_timeout": "1s",
                    "evaluation_interval": "1s",
                },
                "rule_files": [str(rules)],
                "alerting": {
                    "alertmanagers": [
                        {
                            "api_version": "v2",
                            "timeout": "5s",
                            "static_configs": [{"targets": [server.address for server in servers]}],
                        }
                    ]
                },
                "scrape_configs": [
                    {"job_name": "e2e-switch", "static_configs": [{"targets": [switch.address]}]}
                ],
            },
        )
        with ProcessGroup(workdir, child_environment(workdir), process_registry) as group:
            alertmanager = group.start(
                "alertmanager",
                lambda port: [
                    str(alertmanager_binary),
                    f"--config.file={alertmanager_config}",
                    f"--storage.path={workdir / 'alertmanager-data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--cluster.listen-address=",
                    "--log.level=debug",
                ],
                "/-/ready",
            )
            prometheus = group.start(
                "prometheus",
                lambda port: [
                    str(prometheus_binary),
                    f"--config.file={prometheus_config}",
                    f"--storage.tsdb.path={workdir / 'prometheus-data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    # Re-send firing alerts every evaluation or two, not once a minute.
                    "--rules.alert.resend-delay=1s",
                ],
                "/-/ready",
            )
            alertmanager.wait_ready(http)
            prometheus.wait_ready(http)
            yield RealSources(
                Alertmanager(
                    alertmanager.url,
                    alertmanager.process,
                    amtool_binary,
                    http,
                    group.env,
                    receivers,
                ),
                Prometheus(
                    prometheus.url,
                    prometheus.process,
                    http,
                    always_firing,
                    switched_alertname,
                    switch,
                ),
            )
            crashed = group.crashed()
    finally:
        switch.close()
    _report_crashes(crashed)


@pytest.fixture
def alertmanager(real_sources: RealSources) -> Alertmanager:
    real_sources.alertmanager.process.check_running()
    return real_sources.alertmanager


@pytest.fixture
def prometheus(real_sources: RealSources) -> Prometheus:
    real_sources.prometheus.process.check_running()
    return real_sources.prometheus
