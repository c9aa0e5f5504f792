"""Three `slakeeper serve` replicas on one PostgreSQL database behind HAProxy; the leader is
killed with SIGKILL under load and started again.

Alertmanager sends its webhooks through the balancer, and a load generator pushes batches
(`POST /api/v2/alerts`) through it. Afterwards: every alert that was answered 2xx is stored,
each group has one incident, each contact got each incident's notification (opening,
escalation steps 1 and 2) once, and each scheduled job ran once per interval across the
replicas (`slakeeper_scheduler_job_runs_total`), not once per replica.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import Engine, text

from core.database import create_database_engine
from tests.conftest import fresh_postgres_database
from tests.e2e.balancer import balancer_config, require_haproxy, start_balancer
from tests.e2e.clients import metric_value
from tests.e2e.configs import (
    alertmanager_config,
    reconciliation_settings,
    sla_job_settings,
    slakeeper_rules,
)
from tests.e2e.launch import require, serve_command, start_alertmanager
from tests.e2e.support import (
    ManagedProcess,
    ProcessGroup,
    Service,
    child_environment,
    pick_free_port,
    rfc3339,
    unique_name,
    wait_until,
    write_config,
)
from tests.integration.receiver import WebhookReceiver

REPLICAS = 3
LOAD_GROUPS = 4
ALERTMANAGER_GROUPS = 2
BATCH = 10
LEADER_CHECK = timedelta(seconds=1)
STEPS = {"manager1": timedelta(seconds=4), "manager2": timedelta(seconds=10)}
CONTACTS = ("on-duty", "lead", "experts", *STEPS)
# How often each job runs with the settings below; a job not listed is held to once a second.
INTERVALS = {"sla": 1.0, "reconcile": 2.0, "outbox": 5.0, "heartbeat": 15.0, "silences": 60.0}
RUNS = "slakeeper_scheduler_job_runs_total"
DOCUMENTED = Path(__file__).resolve().parents[2] / "docs" / "scaling.md"


@dataclass
class Cluster:
    replicas: list[Service]
    balancer: Service
    alertmanager: Service
    engine: Engine
    http: httpx.Client

    def leaders(self) -> list[int]:
        """The replicas whose `slakeeper_scheduler_leader` is 1 (the running ones' view)."""
        found = []
        for index, replica in enumerate(self.replicas):
            if not replica.process.running:
                continue
            exposition = self.http.get(f"{replica.url}/metrics", timeout=5).text
            if metric_value(exposition, "slakeeper_scheduler_leader", {}) == 1:
                found.append(index)
        return found

    def job_runs(self) -> dict[str, float]:
        exposition = self.http.get(f"{self.balancer.url}/metrics", timeout=10).text
        return {job: metric_value(exposition, RUNS, {"job": job}) or 0.0 for job in self.jobs()}

    def jobs(self) -> list[str]:
        with self.engine.connect() as connection:
            labels = connection.execute(
                text("SELECT DISTINCT labels FROM event_counters WHERE name = :name"),
                {"name": RUNS},
            ).scalars()
            return sorted(orjson.loads(label)["job"] for label in labels)


@dataclass
class Load:
    """Threads pushing batches of firing alerts through the balancer, remembering which
    were answered 2xx (`acked`) and what the others got."""

    url: str
    service: str
    acked: set[str] = field(default_factory=set)
    refused: Counter[str] = field(default_factory=Counter)
    _numbers: Iterator[int] = field(default_factory=itertools.count)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def alert(self, number: int) -> dict[str, Any]:
        now = datetime.now(UTC)
        return {
            "labels": {
                "alertname": f"E2EReplicaLoad{number % LOAD_GROUPS}",
                "service": self.service,
                "escalation": "fast",
                "seq": str(number),
            },
            "annotations": {"summary": "pushed through the balancer"},
            "startsAt": rfc3339(now - timedelta(seconds=1)),
            "endsAt": rfc3339(now + timedelta(hours=1)),
        }

    def push(self) -> None:
        with httpx.Client(timeout=10, trust_env=False) as client:
            while not self._stop.is_set():
                with self._lock:
                    numbers = [next(self._numbers) for _ in range(BATCH)]
                body = [self.alert(number) for number in numbers]
                try:
                    answer = client.post(f"{self.url}/api/v2/alerts", json=body)
                except httpx.TransportError as error:
                    outcome = type(error).__name__
                else:
                    outcome = str(answer.status_code)
                with self._lock:
                    if outcome.startswith("2"):
                        self.acked.update(str(number) for number in numbers)
                    else:
                        self.refused[outcome] += 1
                time.sleep(0.02)

    @contextmanager
    def running(self, threads: int = 3) -> Iterator[Load]:
        workers = [threading.Thread(target=self.push, daemon=True) for _ in range(threads)]
        for worker in workers:
            worker.start()
        try:
            yield self
        finally:
            self._stop.set()
            for worker in workers:
                worker.join(15)


def rule_file(path: Path, contacts_url: str) -> Path:
    rules = slakeeper_rules(contacts_url)
    rules["escalation"]["P1"] = [
        {"after": f"{after.seconds}s", "notify": contact} for contact, after in STEPS.items()
    ]
    return write_config(path, rules)


@contextmanager
def cluster(
    workdir: Path, http: httpx.Client, registry: list[ManagedProcess], contacts_url: str
) -> Iterator[Cluster]:
    """Alertmanager, then the replicas (told its URL), then HAProxy (on the port Alertmanager
    was given) in front of them."""
    haproxy = require_haproxy()
    alertmanager_binary = require("prometheus-alertmanager", "alertmanager")
    balancer_port = pick_free_port()
    webhook = f"http://127.0.0.1:{balancer_port}/api/v1/webhooks/alertmanager"
    with ExitStack() as stack:
        database_url = stack.enter_context(fresh_postgres_database("slakeeper_e2e_replicas"))
        outer = ProcessGroup(workdir, child_environment(workdir), registry)
        stack.enter_context(outer)
        config = write_config(workdir / "alertmanager.yml", alertmanager_config([webhook]))
        alertmanager = start_alertmanager(
            outer, "alertmanager-replicas", config, workdir, alertmanager_binary
        ).wait_ready(http)
        env = (
            child_environment(workdir)
            | sla_job_settings()
            | reconciliation_settings(alertmanager.url)
            | {"SLAKEEPER_LEADER_CHECK_SECONDS": f"{LEADER_CHECK.total_seconds():g}"}
        )
        group = stack.enter_context(ProcessGroup(workdir, env, registry))
        command = serve_command(database_url, rule_file(workdir / "rules.yaml", contacts_url))
        replicas = [
            group.start(f"slakeeper-replica{number}", command, "/readyz")
            for number in range(1, REPLICAS + 1)
        ]
        for replica in replicas:
            replica.wait_ready(http)
        addresses = [replica.address for replica in replicas]
        balancer = start_balancer(group, haproxy, balancer_port, addresses, workdir)
        balancer.wait_ready(http)
        engine = create_database_engine(database_url)
        stack.callback(engine.dispose)
        yield Cluster(replicas, balancer, alertmanager, engine, http)


def send_to_alertmanager(cluster: Cluster, service: str) -> set[str]:
    """Alerts of `ALERTMANAGER_GROUPS` groups, firing for an hour; their `seq` labels."""
    now = datetime.now(UTC)
    alerts: list[dict[str, Any]] = [
        {
            "labels": {
                "alertname": f"E2EReplicaAm{number % ALERTMANAGER_GROUPS}",
                "service": service,
                "escalation": "fast",
                "seq": f"am-{number}",
            },
            "startsAt": rfc3339(now),
            "endsAt": rfc3339(now + timedelta(hours=1)),
        }
        for number in range(3 * ALERTMANAGER_GROUPS)
    ]
    answer = cluster.http.post(f"{cluster.alertmanager.url}/api/v2/alerts", json=alerts)
    assert answer.is_success, answer.text
    return {alert["labels"]["seq"] for alert in alerts}


def stored(cluster: Cluster, service: str) -> set[str]:
    with cluster.engine.connect() as connection:
        return set(
            connection.execute(
                text("SELECT labels->>'seq' FROM alerts WHERE service = :service"),
                {"service": service},
            ).scalars()
        )


def incidents_by_group(cluster: Cluster, service: str) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    with cluster.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT group_key, id FROM incidents WHERE service = :service"),
            {"service": service},
        )
        for group_key, incident_id in rows:
            found.setdefault(group_key, []).append(incident_id)
    return found


def kill_the_leader(cluster: Cluster) -> tuple[int, float]:
    """SIGKILL the leader; which replica it was, and the seconds until another leads."""
    (leader,) = cluster.leaders()
    process = cluster.replicas[leader].process
    process.popen.kill()
    killed_at = time.monotonic()
    process.popen.wait(10)
    successor = wait_until(
        lambda: cluster.leaders(),
        timeout=LEADER_CHECK.total_seconds() * 10,
        interval=0.05,
        what="another replica to lead",
        ignoring=(httpx.TransportError,),
    )
    assert successor != [leader]
    return leader, time.monotonic() - killed_at


def opening_sent(cluster: Cluster, contacts: WebhookReceiver, service: str) -> bool:
    """Whether every group has its incident and its opening messages went out."""
    groups = incidents_by_group(cluster, service)
    if len(groups) < LOAD_GROUPS + ALERTMANAGER_GROUPS:
        return False
    incidents = {incident for ids in groups.values() for incident in ids}
    sent = notifications(contacts, incidents)
    return all(sent[contact, incident] for contact in CONTACTS[:3] for incident in incidents)


def deliveries(contacts: WebhookReceiver, incidents: set[int]) -> list[tuple[str, int, str]]:
    """(contact, incident, idempotency key) of every message about one of `incidents`."""
    return [
        (message.path.strip("/"), incident, message.headers.get("Idempotency-Key", ""))
        for message in list(contacts.received)
        if (incident := message.body["incident"]["id"]) in incidents
    ]


def notifications(contacts: WebhookReceiver, incidents: set[int]) -> Counter[tuple[str, int]]:
    """Distinct messages (by idempotency key) per (contact, incident) of `incidents`."""
    keys = set(deliveries(contacts, incidents))
    return Counter((contact, incident) for contact, incident, _key in keys)


@pytest.mark.e2e
def test_three_replicas_behind_haproxy_lose_nothing_when_the_leader_is_killed_under_load(
    e2e_dir: Path,
    http: httpx.Client,
    process_registry: list[ManagedProcess],
    measurements: list[str],
) -> None:
    service = unique_name("replicas-")
    workdir = e2e_dir / "replicas"
    workdir.mkdir()
    with WebhookReceiver() as contacts, cluster(workdir, http, process_registry, contacts.url) as c:
        wait_until(lambda: len(c.leaders()) == 1, what="one replica to lead")
        started, runs_before = time.monotonic(), c.job_runs()
        load = Load(c.balancer.url, service)
        with load.running():
            from_alertmanager = send_to_alertmanager(c, service)
            # Killed once the incidents' first messages are out: a send that the kill cuts
            # short is retried only when its claim (the outbox's 120 s lease) runs out.
            wait_until(lambda: opening_sent(c, contacts, service), what="the first messages")
            killed, failover = kill_the_leader(c)
            time.sleep(3)
            c.replicas[killed].restart(http)
            time.sleep(2)
        measurements.append(
            f"replicas: leader killed -9, another led {failover:.2f} s later; "
            f"{len(load.acked)} alerts acknowledged, refused: {dict(load.refused) or 'none'}"
        )
        assert len(load.acked) >= 200, "the load generator pushed too little to mean anything"
        expected = load.acked | from_alertmanager
        wait_until(
            lambda: expected <= stored(c, service),
            what="every acknowledged alert to be stored",
        )
        groups = incidents_by_group(c, service)
        assert len(groups) == LOAD_GROUPS + ALERTMANAGER_GROUPS
        assert all(len(ids) == 1 for ids in groups.values()), f"one incident per group: {groups}"
        incidents = {ids[0] for ids in groups.values()}
        everyone = {(contact, incident) for contact in CONTACTS for incident in incidents}
        wait_until(
            lambda: set(notifications(contacts, incidents)) == everyone,
            timeout=40,
            what="every incident's notifications and both escalation steps to arrive",
        )
        time.sleep(LEADER_CHECK.total_seconds() * 2)  # for a duplicate to show, if any
        sent = notifications(contacts, incidents)
        assert sent == Counter(dict.fromkeys(everyone, 1)), "each notification once"
        # A send the kill interrupted between the contact's answer and its commit is sent
        # again by the next leader, with the same key (the contact drops it): at most that one.
        repeated = len(deliveries(contacts, incidents)) - len(everyone)
        assert repeated <= 1, f"{repeated} notifications delivered twice"
        elapsed, runs_after = time.monotonic() - started, c.job_runs()
        assert len(c.leaders()) == 1
    ran_in_test = {job: count - runs_before.get(job, 0.0) for job, count in runs_after.items()}
    measurements.append(
        f"replicas: job runs in {elapsed:.1f} s across the replicas: {ran_in_test}; "
        f"delivered twice: {repeated}"
    )
    for job, ran in ran_in_test.items():
        interval = INTERVALS.get(job, 1.0)
        # Once per interval, plus the leader's first runs and one for the takeover; three
        # replicas each running them would be three times as many.
        assert ran <= elapsed / interval + 3, f"{job} ran {ran} times in {elapsed:.0f} s"
    for job in ("sla", "reconcile"):
        ran = ran_in_test[job]
        assert ran >= elapsed / INTERVALS[job] / 2, f"{job} ran only {ran} times"


def test_the_balancer_configuration_in_docs_is_the_one_tested() -> None:
    example = balancer_config(
        "0.0.0.0:8080", ["10.0.0.11:8080", "10.0.0.12:8080", "10.0.0.13:8080"]
    )
    assert example in DOCUMENTED.read_text()
