"""Maintenance silenced in a real Alertmanager 0.25, on SQLite and on PostgreSQL.

One Alertmanager serves the module, on a free loopback port, without clustering, its webhook
receiver a loopback server of the test's. Windows are planned through slakeeper's API (or the
rule file), `sync_silences` runs as the scheduler's job would, and what Alertmanager holds is
read with `amtool`, as an operator would. After each test every silence is expired.
"""

from __future__ import annotations

import json
import logging
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from availability.models import MaintenanceSilence
from availability.silences import CREATED_BY
from availability.silencing import SyncResult, sync_silences
from core.database import create_database_engine
from rules.loader import DEFAULT_RULES, load_rule_file, parse_rule_text
from rules.policy import RuleFile
from tests.conftest import missing
from tests.e2e.support import (
    ManagedProcess,
    ProcessGroup,
    Service,
    child_environment,
    find_binary,
    rfc3339,
    unique_name,
    wait_until,
    write_config,
)
from tests.integration.conftest import AppFactory, Clock
from tests.integration.receiver import WebhookReceiver

RULES: RuleFile = load_rule_file(DEFAULT_RULES)  # what the app reads, too


class WallClock(Clock):
    """The real time: Alertmanager refuses silences that end in its past."""

    def __call__(self) -> datetime:
        return datetime.now(UTC)


@pytest.fixture
def clock() -> Clock:
    return WallClock()


@dataclass
class RealAlertmanager:
    """A real Alertmanager, its webhook receiver, and `amtool` pointed at it."""

    service: Service
    client: httpx.Client
    receiver: WebhookReceiver
    amtool: Path
    home: Path
    posted: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.service.url

    def amtool_silences(self, *flags: str) -> list[dict[str, Any]]:
        """`amtool silence query` (active and pending ones; `--expired` for the others)."""
        done = subprocess.run(
            [
                str(self.amtool),
                "silence",
                "query",
                f"--alertmanager.url={self.url}",
                "--output=json",
                *flags,
            ],
            capture_output=True,
            text=True,
            timeout=30,
            env=child_environment(self.home),
        )
        assert done.returncode == 0, done.stderr
        silences: list[dict[str, Any]] = json.loads(done.stdout or "[]")
        return silences

    def post_alerts(self, *alerts: dict[str, Any]) -> None:
        response = self.client.post(f"{self.url}/api/v2/alerts", json=list(alerts))
        assert response.status_code == 200, response.text
        self.posted.extend(alerts)

    def alerts(self) -> list[dict[str, Any]]:
        response = self.client.get(f"{self.url}/api/v2/alerts")
        response.raise_for_status()
        listed: list[dict[str, Any]] = response.json()
        return listed

    def notified_services(self) -> set[str]:
        """The `service` of every alert the receiver was sent."""
        return {
            alert["labels"].get("service", "")
            for message in list(self.receiver.received)
            for alert in message.body["alerts"]
        }

    def clean(self) -> None:
        if not self.service.process.running:
            self.service.restart(self.client)
        for silence in self.client.get(f"{self.url}/api/v2/silences").json():
            if silence["status"]["state"] != "expired":
                self.client.delete(f"{self.url}/api/v2/silence/{silence['id']}")
        if self.posted:
            ended = [{**alert, "endsAt": rfc3339(datetime.now(UTC))} for alert in self.posted]
            self.client.post(f"{self.url}/api/v2/alerts", json=ended)
        self.posted.clear()


@pytest.fixture(scope="module")
def alertmanager_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealAlertmanager]:
    binary = find_binary("prometheus-alertmanager", "alertmanager")
    if binary is None:
        missing("prometheus-alertmanager not found on PATH or in /usr/bin")
    amtool = find_binary("amtool")
    if amtool is None:
        missing("amtool not found on PATH or in /usr/bin")
    workdir = tmp_path_factory.mktemp("alertmanager")
    registry: list[ManagedProcess] = []
    with (
        WebhookReceiver() as receiver,
        httpx.Client(timeout=10, trust_env=False) as client,
        ProcessGroup(workdir, child_environment(workdir), registry) as group,
    ):
        config = write_config(
            workdir / "alertmanager.yml",
            {
                "route": {
                    "receiver": "hooks",
                    "group_by": ["alertname", "service"],
                    "group_wait": "1s",
                    "group_interval": "1s",
                    "repeat_interval": "1h",
                },
                "receivers": [
                    {"name": "hooks", "webhook_configs": [{"url": f"{receiver.url}/alerts"}]}
                ],
            },
        )

        def command(port: int) -> list[str]:
            # An explicit free port, no clustering (no 9094), data of its own.
            return [
                str(binary),
                f"--config.file={config}",
                f"--storage.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ]

        service = group.start("alertmanager", command, "/-/ready").wait_ready(client)
        yield RealAlertmanager(service, client, receiver, amtool, workdir)


@pytest.fixture
def alertmanager(alertmanager_process: RealAlertmanager) -> Iterator[RealAlertmanager]:
    alertmanager_process.service.process.check_running()
    yield alertmanager_process
    alertmanager_process.clean()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_database_engine(database_url)
    yield engine
    engine.dispose()


def sync(engine: Engine, alertmanager: RealAlertmanager, rules: RuleFile = RULES) -> SyncResult:
    return sync_silences(
        engine,
        rules=rules,
        client=alertmanager.client,
        alertmanager_url=alertmanager.url,
        now=datetime.now(UTC),
    )


def plan_window(api: TestClient, service: str, start: datetime, end: datetime) -> dict[str, Any]:
    planned = api.post(
        "/api/v1/maintenance",
        json={
            "service": service,
            "start": rfc3339(start),
            "end": rfc3339(end),
            "reason": "database upgrade",
        },
    )
    assert planned.status_code == 201, planned.text
    window: dict[str, Any] = planned.json()
    return window


def listed_window(api: TestClient, window_id: int) -> dict[str, Any]:
    items: list[dict[str, Any]] = api.get("/api/v1/maintenance").json()["items"]
    [window] = [item for item in items if item["id"] == window_id]
    return window


def of_service(silences: list[dict[str, Any]], service: str) -> list[dict[str, Any]]:
    return [
        silence
        for silence in silences
        if {"name": "service", "value": service} in _names_values(silence)
    ]


def _names_values(silence: dict[str, Any]) -> list[dict[str, str]]:
    return [{"name": m["name"], "value": m["value"]} for m in silence["matchers"]]


def stored_states(engine: Engine) -> list[tuple[str, str | None, int, str | None]]:
    with Session(engine) as session:
        rows = session.execute(
            select(
                MaintenanceSilence.state,
                MaintenanceSilence.silence_id,
                MaintenanceSilence.attempts,
                MaintenanceSilence.last_error,
            ).order_by(MaintenanceSilence.occurrence)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_a_planned_window_becomes_a_silence_and_deleting_it_expires_it(
    make_app: AppFactory, engine: Engine, alertmanager: RealAlertmanager
) -> None:
    service = unique_name("pay")
    now = datetime.now(UTC)
    with TestClient(make_app(alertmanager_url=alertmanager.url, scheduler=False)) as api:
        window = plan_window(api, service, now + timedelta(hours=1), now + timedelta(hours=3))
        assert sync(engine, alertmanager) == SyncResult(created=1)

        [silence] = of_service(alertmanager.amtool_silences(), service)
        assert silence["createdBy"] == CREATED_BY
        assert silence["comment"] == f"slakeeper maintenance api/{window['id']}: database upgrade"
        assert silence["status"]["state"] == "pending"
        assert silence["matchers"] == [
            {"name": "service", "value": service, "isRegex": False, "isEqual": True}
        ]
        [shown] = listed_window(api, window["id"])["silences"]
        assert (shown["state"], shown["silence_id"]) == ("active", silence["id"])
        assert shown["occurrence"] == f"api/{window['id']}/{window['start']}"
        assert "silenced in Alertmanager" in api.get("/maintenance").text
        assert sync(engine, alertmanager) == SyncResult()  # nothing more to do

        deleted = api.delete(f"/api/v1/maintenance/{window['id']}")
        assert deleted.status_code == 200, deleted.text
        assert sync(engine, alertmanager) == SyncResult(expired=1)

    assert of_service(alertmanager.amtool_silences(), service) == []
    [expired] = of_service(alertmanager.amtool_silences("--expired"), service)
    assert expired["id"] == silence["id"]
    assert stored_states(engine) == [("expired", silence["id"], 0, None)]


def test_an_alert_of_the_service_during_its_window_reaches_no_receiver_while_another_does(
    make_app: AppFactory, engine: Engine, alertmanager: RealAlertmanager
) -> None:
    silenced, other = unique_name("db"), unique_name("web")
    now = datetime.now(UTC)
    with TestClient(make_app(alertmanager_url=alertmanager.url, scheduler=False)) as api:
        plan_window(api, silenced, now - timedelta(minutes=1), now + timedelta(hours=1))
    assert sync(engine, alertmanager) == SyncResult(created=1)
    [silence] = of_service(alertmanager.amtool_silences(), silenced)
    assert silence["status"]["state"] == "active"

    alertmanager.post_alerts(
        *(
            {
                "labels": {"alertname": "InstanceDown", "service": name, "severity": "critical"},
                "startsAt": rfc3339(datetime.now(UTC)),
            }
            for name in (silenced, other)
        )
    )
    wait_until(
        lambda: other in alertmanager.notified_services(),
        what=f"the alert of {other} to reach the receiver",
    )
    assert silenced not in alertmanager.notified_services()
    [held] = [a for a in alertmanager.alerts() if a["labels"]["service"] == silenced]
    assert held["status"] == {
        "state": "suppressed",
        "silencedBy": [silence["id"]],
        "inhibitedBy": [],
    }


def test_a_rule_file_window_is_silenced_by_its_services_matchers_and_an_edit_updates_it(
    engine: Engine, alertmanager: RealAlertmanager
) -> None:
    job = unique_name("checkout")
    soon = datetime.now(UTC) + timedelta(hours=2)
    cron = f"{soon.minute} {soon.hour} * * *"  # daily, the next one in 2 h (UTC)

    def rules(reason: str) -> RuleFile:
        text = f"""
services:
  - name: checkout
    matchers: ['job=~"{job}(-.*)?"', 'env!="test"']
maintenance:
  - service: checkout
    cron: '{cron}'
    duration: 1h
    reason: {reason}
"""
        return parse_rule_text(text)

    assert sync(engine, alertmanager, rules("weekly patches")) == SyncResult(created=1)
    [silence] = [s for s in alertmanager.amtool_silences() if job in json.dumps(s["matchers"])]
    assert sorted(_flags(silence)) == [
        ("env", "test", False, False),
        ("job", f"{job}(-.*)?", True, True),
    ]
    assert silence["comment"].endswith(": weekly patches")

    # A new reason: the same silence (still pending in Alertmanager), its comment changed.
    assert sync(engine, alertmanager, rules("monthly patches")) == SyncResult(updated=1)
    [updated] = [s for s in alertmanager.amtool_silences() if job in json.dumps(s["matchers"])]
    assert updated["id"] == silence["id"]
    assert updated["comment"].endswith(": monthly patches")


def _flags(silence: dict[str, Any]) -> list[tuple[str, str, bool, bool]]:
    return [(m["name"], m["value"], m["isRegex"], m["isEqual"]) for m in silence["matchers"]]


def test_an_alertmanager_that_is_down_fails_the_silence_which_the_next_run_creates(
    make_app: AppFactory, engine: Engine, alertmanager: RealAlertmanager
) -> None:
    service = unique_name("pay")
    now = datetime.now(UTC)
    with TestClient(make_app(alertmanager_url=alertmanager.url, scheduler=False)) as api:
        window = plan_window(api, service, now + timedelta(hours=1), now + timedelta(hours=2))
        alertmanager.service.stop()
        assert sync(engine, alertmanager) == SyncResult(failed=1)
        [shown] = listed_window(api, window["id"])["silences"]
        assert (shown["state"], shown["silence_id"], shown["attempts"]) == ("failed", None, 1)
        assert shown["last_error"].startswith(
            f"cannot reach Alertmanager at {alertmanager.url}/api/v2/silences: ConnectError"
        )
        page = api.get("/maintenance").text
        assert "silence failed: cannot reach Alertmanager at" in page and "retrying" in page
        assert 'slakeeper_maintenance_silences{state="failed"} 1.0' in api.get("/metrics").text

        alertmanager.service.restart(alertmanager.client)
        assert sync(engine, alertmanager) == SyncResult(created=1)
        [silence] = of_service(alertmanager.amtool_silences(), service)
        [shown] = listed_window(api, window["id"])["silences"]
        assert (shown["state"], shown["silence_id"], shown["last_error"]) == (
            "active",
            silence["id"],
            None,
        )
        metrics = api.get("/metrics").text
        assert 'slakeeper_maintenance_silences{state="failed"} 0.0' in metrics
        assert 'slakeeper_maintenance_silences{state="active"} 1.0' in metrics


def test_a_silence_set_by_an_attempt_whose_answer_was_lost_is_taken_not_set_twice(
    make_app: AppFactory, engine: Engine, alertmanager: RealAlertmanager
) -> None:
    service = unique_name("pay")
    now = datetime.now(UTC)
    with TestClient(make_app(alertmanager_url=alertmanager.url, scheduler=False)) as api:
        plan_window(api, service, now + timedelta(hours=1), now + timedelta(hours=2))
    assert sync(engine, alertmanager) == SyncResult(created=1)
    [silence] = of_service(alertmanager.amtool_silences(), service)
    # As if the answer had been lost: stored failed, without the id.
    with Session(engine) as session, session.begin():
        row = session.scalars(select(MaintenanceSilence)).one()
        row.state, row.silence_id, row.attempts, row.last_error = "failed", None, 1, "timeout"

    assert sync(engine, alertmanager) == SyncResult(created=1)
    assert of_service(alertmanager.amtool_silences(), service) == [silence]
    assert stored_states(engine) == [("active", silence["id"], 0, None)]


# PostgreSQL only: it is what several replicas share (on SQLite, one process runs the jobs).
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_replicas_syncing_at_once_set_each_silence_once(
    make_app: AppFactory, database_url: str, engine: Engine, alertmanager: RealAlertmanager
) -> None:
    services = [unique_name("pay") for _ in range(3)]
    now = datetime.now(UTC)
    with TestClient(make_app(alertmanager_url=alertmanager.url, scheduler=False)) as api:
        for service in services:
            plan_window(api, service, now + timedelta(hours=1), now + timedelta(hours=2))
    replicas = 4
    start = threading.Barrier(replicas)
    results: list[SyncResult] = []

    def replica() -> None:
        replica_engine = create_database_engine(database_url)
        try:
            with httpx.Client(timeout=10, trust_env=False) as client:
                start.wait()
                results.append(
                    sync_silences(
                        replica_engine,
                        rules=RULES,
                        client=client,
                        alertmanager_url=alertmanager.url,
                        now=datetime.now(UTC),
                    )
                )
        finally:
            replica_engine.dispose()

    threads = [threading.Thread(target=replica) for _ in range(replicas)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == replicas
    assert sum(result.created for result in results) == len(services)
    listed = alertmanager.amtool_silences()
    assert all(len(of_service(listed, service)) == 1 for service in services)


def test_a_failure_is_logged_and_stored_without_the_urls_credentials(
    make_app: AppFactory,
    engine: Engine,
    free_port: Callable[[], int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = datetime.now(UTC)
    with TestClient(make_app(scheduler=False)) as api:
        plan_window(api, unique_name("pay"), now + timedelta(hours=1), now + timedelta(hours=2))
    down = f"http://ana:hunter2@127.0.0.1:{free_port()}/am?token=s3cret"
    with httpx.Client(timeout=5, trust_env=False) as client, caplog.at_level(logging.WARNING):
        done = sync_silences(
            engine, rules=RULES, client=client, alertmanager_url=down, now=datetime.now(UTC)
        )
    assert done == SyncResult(failed=1)
    [(state, _id, attempts, error)] = stored_states(engine)
    assert (state, attempts) == ("failed", 1)
    assert error is not None and error.startswith("cannot reach Alertmanager at http://127.0.0.1:")
    [warning] = [r for r in caplog.records if r.name == "availability.silencing"]
    assert warning.levelno == logging.WARNING and "api/1/" in warning.getMessage()
    for secret in ("hunter2", "s3cret", "ana:"):
        assert secret not in error and secret not in caplog.text
