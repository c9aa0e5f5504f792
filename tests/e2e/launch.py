"""Starting the end-to-end processes: slakeeper fleets, Alertmanager and Prometheus, each
on a free loopback port, waited for by polling, stopped with their group."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import fresh_postgres_database, missing
from tests.e2e.clients import SlakeeperServer
from tests.e2e.configs import contacts_path, slakeeper_rules
from tests.e2e.stacks import SlakeeperFleet, Unavailable
from tests.e2e.support import (
    ManagedProcess,
    ProcessGroup,
    Service,
    child_environment,
    find_binary,
    write_config,
)

__all__ = [
    "BACKENDS",
    "report_crashes",
    "require",
    "serve_fleet",
    "slo_rules",
    "start_alertmanager",
    "start_prometheus",
]

BACKENDS = ("sqlite", "postgresql")


def require(*names: str) -> Path:
    found = find_binary(*names)
    if found is None:
        missing(f"{' or '.join(names)} not found on PATH or in /usr/bin")
    return found


def report_crashes(crashed: Sequence[ManagedProcess]) -> None:
    if crashed:
        details = "\n\n".join(f"died during the session: {p.describe()}" for p in crashed)
        pytest.fail(details, pytrace=False)


def serve_command(database_url: str, rule_file: Path) -> Callable[[int], Sequence[str]]:
    executable = Path(sys.executable).parent / "slakeeper"

    def command(port: int) -> list[str]:
        return [
            str(executable),
            "serve",
            "--host=127.0.0.1",
            f"--port={port}",
            f"--database-url={database_url}",
            f"--rules={rule_file}",
            "--access-log",
        ]

    return command


@contextmanager
def serve_fleet(
    stack: str,
    workdir: Path,
    http: httpx.Client,
    registry: list[ManagedProcess],
    contacts_url: str,
    env: Mapping[str, str] | None = None,
) -> Iterator[SlakeeperFleet]:
    """`slakeeper serve` on a fresh SQLite file and on a fresh PostgreSQL database."""
    if not (Path(sys.executable).parent / "slakeeper").is_file():
        pytest.fail(f"no slakeeper console script next to {sys.executable}: pip install -e .")
    workdir.mkdir()
    database_urls = {"sqlite": f"sqlite:///{workdir / 'slakeeper.db'}"}
    rule_files = {
        backend: write_config(
            workdir / f"rules-{backend}.yaml",
            slakeeper_rules(contacts_url + contacts_path(stack, backend)),
        )
        for backend in BACKENDS
    }
    rule_file = write_config(workdir / "rules.yaml", slakeeper_rules(contacts_url))
    process_env = child_environment(workdir) | dict(env or {})
    # The database outlives the servers: the stack closes after the process group.
    with ExitStack() as databases, ProcessGroup(workdir, process_env, registry) as group:
        fleet = SlakeeperFleet(stack, {}, {}, rule_file, group)

        def start(backend: str) -> Service:
            command = serve_command(database_urls[backend], rule_files[backend])
            return group.start(f"slakeeper-{stack}-{backend}", command, "/readyz")

        # SQLite first: it starts while PostgreSQL's database is being created.
        starting = {"sqlite": start("sqlite")}
        try:
            # A database of its own: the integration tests empty their shared one.
            database_urls["postgresql"] = databases.enter_context(
                fresh_postgres_database(f"slakeeper_e2e_{stack}")
            )
        except (pytest.skip.Exception, pytest.fail.Exception) as outcome:
            # Only the PostgreSQL tests skip (or, in CI, fail); SQLite's still run.
            failed = isinstance(outcome, pytest.fail.Exception)
            reason = outcome.msg or "PostgreSQL unavailable"
            fleet.unavailable["postgresql"] = Unavailable(reason, failed)
        else:
            starting["postgresql"] = start("postgresql")
        for backend, service in starting.items():
            service.wait_ready(http)
            fleet.servers[backend] = SlakeeperServer(backend, database_urls[backend], service, http)
        yield fleet
        crashed = group.crashed()
    report_crashes(crashed)


def start_alertmanager(
    group: ProcessGroup, name: str, config: Path, workdir: Path, binary: Path
) -> Service:
    return group.start(
        name,
        lambda port: [
            str(binary),
            f"--config.file={config}",
            f"--storage.path={workdir / f'{name}-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            # As deployed: the URL its webhooks carry is the one slakeeper reconciles with.
            f"--web.external-url=http://127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=debug",
        ],
        "/-/ready",
    )


def start_prometheus(
    group: ProcessGroup, name: str, config: Path, workdir: Path, binary: Path
) -> Service:
    return group.start(
        name,
        lambda port: [
            str(binary),
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / f'{name}-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            # Re-send firing alerts every evaluation or two, not once a minute.
            "--rules.alert.resend-delay=1s",
        ],
        "/-/ready",
    )


def slo_rules(fleet: SlakeeperFleet, out: Path) -> Path:
    """`slakeeper rules prometheus` on the fleet's rule file: what its users load."""
    command = [
        str(Path(sys.executable).parent / "slakeeper"),
        "rules",
        "prometheus",
        str(fleet.rule_file),
        f"--out={out}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited with {done.returncode}: {done.stderr}")
    return out
