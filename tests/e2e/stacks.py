"""What the session fixtures hand to tests: fleets of slakeeper servers and the stacks
around them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import missing
from tests.e2e.clients import Alertmanager, SlakeeperServer
from tests.e2e.configs import contacts_path
from tests.e2e.loopback import WebhookRelay
from tests.e2e.support import ProcessGroup

__all__ = ["ReconcileStack", "SlakeeperFleet", "Stack", "Unavailable"]


@dataclass(frozen=True)
class Unavailable:
    """Why a database is missing: a skip, or (with CI=true) a failure."""

    reason: str
    failed: bool


@dataclass(frozen=True)
class SlakeeperFleet:
    """The slakeeper servers of one stack that could start, and why the others could not."""

    stack: str
    servers: dict[str, SlakeeperServer]
    unavailable: dict[str, Unavailable]
    rule_file: Path
    group: ProcessGroup

    def contacts_path(self, backend: str) -> str:
        return contacts_path(self.stack, backend)

    def all_servers(self) -> list[SlakeeperServer]:
        """Every backend's server; a missing one skips the test (fails it, in CI)."""
        for unavailable in self.unavailable.values():
            if unavailable.failed:
                pytest.fail(unavailable.reason, pytrace=False)
            missing(unavailable.reason)
        return list(self.servers.values())


@dataclass(frozen=True)
class Stack:
    """A fleet of its own behind an Alertmanager of its own, which only handles alerts
    labelled `stack="<name>"` (Prometheus #1 sends it all of its alerts)."""

    name: str
    fleet: SlakeeperFleet
    alertmanager: Alertmanager


@dataclass(frozen=True)
class ReconcileStack(Stack):
    relay: WebhookRelay
    """Alertmanager's webhook goes through it: `/<backend>` to that backend's server."""
