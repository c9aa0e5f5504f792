"""Reconciliation against a real Alertmanager 0.25, on SQLite and on PostgreSQL.

One Alertmanager serves the module, under a route prefix (`/am`) so every test also proves
the API paths are joined to it. Its receiver sends nothing: slakeeper's webhooks are
simulated through `apply_deliveries`, so that a test decides which of them were "lost".
After each test, every alert it posted is ended and every silence expired.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from collector.alertmanager_client import AlertmanagerUnavailable, read_alertmanager
from collector.fingerprint import labels_fingerprint
from collector.models import AlertInstance, DeliveryRecord
from collector.normalise import from_alertmanager_webhook
from collector.schemas import AlertmanagerWebhook
from core.counters import read_counters
from core.database import create_database_engine, writing_session
from incident.ingestion import apply_deliveries
from incident.models import Incident, IncidentEvent
from incident.reconcile import RECONCILIATION_REPAIRS, ReconcileReport, reconcile_alerts
from incident.repairs import RECEIVER
from rules.loader import DEFAULT_RULES, load_rule_file
from rules.policy import RuleFile
from tests.conftest import missing
from tests.e2e.support import (
    ManagedProcess,
    ProcessGroup,
    child_environment,
    find_binary,
    rfc3339,
    unique_name,
    wait_until,
    write_config,
)

PREFIX = "/am"
RULES: RuleFile = load_rule_file(DEFAULT_RULES)
NO_GRACE = timedelta(0)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class RealAlertmanager:
    """A real Alertmanager under `PREFIX`, and what the current test put into it."""

    url: str
    client: httpx.Client
    process: ManagedProcess
    posted: list[dict[str, Any]] = field(default_factory=list)
    silences: list[str] = field(default_factory=list)

    def post(self, *alerts: dict[str, Any]) -> None:
        response = self.client.post(f"{self.url}/api/v2/alerts", json=list(alerts))
        assert response.status_code == 200, response.text
        self.posted.extend(alerts)

    def listed(self) -> list[dict[str, Any]]:
        response = self.client.get(f"{self.url}/api/v2/alerts")
        response.raise_for_status()
        alerts: list[dict[str, Any]] = response.json()
        return alerts

    def listed_named(self, alertname: str) -> dict[str, Any]:
        [found] = [a for a in self.listed() if a["labels"]["alertname"] == alertname]
        return found

    def silence(self, alertname: str) -> None:
        now = utc_now()
        response = self.client.post(
            f"{self.url}/api/v2/silences",
            json={
                "matchers": [{"name": "alertname", "value": alertname, "isRegex": False}],
                "startsAt": rfc3339(now),
                "endsAt": rfc3339(now + timedelta(hours=1)),
                "createdBy": "test_reconciliation",
                "comment": "silenced alerts still fire",
            },
        )
        assert response.status_code == 200, response.text
        self.silences.append(response.json()["silenceID"])

    def end(self, *alerts: dict[str, Any]) -> None:
        """End `alerts` now: Alertmanager drops them from its list at once."""
        ended = [{**alert, "endsAt": rfc3339(utc_now())} for alert in alerts]
        response = self.client.post(f"{self.url}/api/v2/alerts", json=ended)
        assert response.status_code == 200, response.text
        names = {alert["labels"]["alertname"] for alert in alerts}
        wait_until(
            lambda: not names & {a["labels"]["alertname"] for a in self.listed()},
            what=f"Alertmanager to drop {sorted(names)}",
        )

    def clean(self) -> None:
        for silence_id in self.silences:
            self.client.delete(f"{self.url}/api/v2/silence/{silence_id}").raise_for_status()
        if self.posted:
            self.end(*self.posted)
        self.posted.clear()
        self.silences.clear()


@pytest.fixture(scope="module")
def alertmanager_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealAlertmanager]:
    binary = find_binary("prometheus-alertmanager", "alertmanager")
    if binary is None:
        missing("prometheus-alertmanager not found on PATH or in /usr/bin")
    workdir = tmp_path_factory.mktemp("alertmanager")
    config = write_config(
        workdir / "alertmanager.yml",
        {
            "route": {"receiver": "slakeeper", "group_wait": "1s", "group_interval": "1s"},
            "receivers": [{"name": "slakeeper"}],
        },
    )

    def command(port: int) -> list[str]:
        return [
            str(binary),
            f"--config.file={config}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--web.route-prefix={PREFIX}",
            f"--web.external-url=http://127.0.0.1:{port}{PREFIX}",
            "--cluster.listen-address=",
        ]

    registry: list[ManagedProcess] = []
    # trust_env=False: a proxy from the environment must not see loopback traffic.
    with (
        httpx.Client(timeout=10, trust_env=False) as client,
        ProcessGroup(workdir, child_environment(workdir), registry) as group,
    ):
        service = group.start("alertmanager", command, f"{PREFIX}/-/ready").wait_ready(client)
        yield RealAlertmanager(f"{service.url}{PREFIX}", client, service.process)


@pytest.fixture
def alertmanager(alertmanager_process: RealAlertmanager) -> Iterator[RealAlertmanager]:
    alertmanager_process.process.check_running()
    yield alertmanager_process
    alertmanager_process.clean()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_database_engine(database_url)
    yield engine
    engine.dispose()


def am_alert(alertname: str, *, starts_at: datetime, **labels: str) -> dict[str, Any]:
    """An alert as Prometheus posts it, its start in microseconds (Alertmanager lists ms)."""
    return {
        "labels": {"alertname": alertname, "severity": "critical", "service": "shop", **labels},
        "annotations": {"summary": f"{alertname} fires"},
        "startsAt": starts_at.isoformat().replace("+00:00", "Z"),
        "endsAt": rfc3339(starts_at + timedelta(hours=2)),
        "generatorURL": "http://prometheus.local/graph",
    }


def receive_webhook(
    engine: Engine, alert: dict[str, Any], *, at: datetime, external_url: str
) -> None:
    """Store `alert` as slakeeper does when the webhook for it, from the Alertmanager whose
    `--web.external-url` is `external_url`, arrives at `at`."""
    payload = {
        "version": "4",
        "status": "firing",
        "receiver": "slakeeper",
        "groupKey": "{}:{}",
        "externalURL": external_url,
        "alerts": [
            {
                **alert,
                "status": "firing",
                "endsAt": "0001-01-01T00:00:00Z",
                "fingerprint": labels_fingerprint(alert["labels"]),
            }
        ],
    }
    webhook = AlertmanagerWebhook.model_validate_json(json.dumps(payload))
    with writing_session(engine) as session:
        apply_deliveries(session, [from_alertmanager_webhook(webhook, now=at)], rules=RULES, now=at)


def reconcile(
    engine: Engine, alertmanager: RealAlertmanager, *, grace: timedelta, url: str | None = None
) -> ReconcileReport:
    return reconcile_alerts(
        engine,
        client=alertmanager.client,
        alertmanager_url=url or alertmanager.url,
        rules=RULES,
        now=utc_now(),
        grace=grace,
    )


def alerts_named(engine: Engine, alertname: str) -> list[AlertInstance]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(AlertInstance).where(
                    AlertInstance.labels["alertname"].as_string() == alertname
                )
            )
        )


def incident_of(engine: Engine, alert: AlertInstance) -> Incident:
    assert alert.incident_id is not None
    with Session(engine) as session:
        found = session.get(Incident, alert.incident_id)
        assert found is not None
        return found


def everything(engine: Engine) -> Mapping[str, Any]:
    """What a run could change, in comparable form."""
    with Session(engine) as session:
        alerts = [
            (a.fingerprint, a.starts_at, a.status, a.ends_at, a.receive_count, a.incident_id)
            for a in session.scalars(select(AlertInstance).order_by(AlertInstance.id))
        ]
        incidents = [
            (i.id, i.state, i.resolved_at, i.flap_count)
            for i in session.scalars(select(Incident).order_by(Incident.id))
        ]
        events = session.scalar(select(func.count()).select_from(IncidentEvent))
        deliveries = session.scalar(select(func.count()).select_from(DeliveryRecord))
        counters = {
            name: sorted(json.dumps(labels, sort_keys=True) + f"={value}" for labels, value in rows)
            for name, rows in read_counters(session).items()
        }
    return {
        "alerts": alerts,
        "incidents": incidents,
        "events": events,
        "deliveries": deliveries,
        "counters": counters,
    }


def repairs_counted(engine: Engine) -> dict[str, float]:
    with Session(engine) as session:
        stored = read_counters(session).get(RECONCILIATION_REPAIRS, [])
    return {labels["kind"]: value for labels, value in stored}


def test_the_real_alertmanager_lists_suppressed_alerts_and_drops_ended_ones_at_once(
    alertmanager: RealAlertmanager,
) -> None:
    silenced, ending = unique_name("Silenced"), unique_name("Ending")
    start = utc_now() - timedelta(minutes=5, microseconds=123)
    alertmanager.post(am_alert(silenced, starts_at=start))
    alertmanager.silence(silenced)
    ending_alert = {
        **am_alert(ending, starts_at=start),
        "endsAt": rfc3339(utc_now() + timedelta(seconds=3)),
    }
    alertmanager.post(ending_alert)

    snapshot = read_alertmanager(alertmanager.client, alertmanager.url)

    names = {alert.labels["alertname"] for alert in snapshot.alerts}
    assert {silenced, ending} <= names
    wait_until(
        lambda: alertmanager.listed_named(silenced)["status"]["state"] == "suppressed",
        what="the silence to apply",
    )
    [listed] = [a for a in snapshot.alerts if a.labels["alertname"] == silenced]
    assert listed.starts_at == start.replace(microsecond=start.microsecond // 1000 * 1000)
    assert snapshot.started_at <= utc_now()
    # Gone from the list once its endsAt passes, not when garbage collected (minutes later).
    wait_until(
        lambda: ending not in {a["labels"]["alertname"] for a in alertmanager.listed()},
        timeout=10,
        what=f"{ending} to leave the list",
    )


def test_an_alert_slakeeper_never_received_is_added_and_opens_an_incident(
    alertmanager: RealAlertmanager, engine: Engine
) -> None:
    name = unique_name("NeverReceived")
    alertmanager.post(am_alert(name, starts_at=utc_now() - timedelta(minutes=3)))

    report = reconcile(engine, alertmanager, grace=NO_GRACE)

    assert (report.added, report.resolved) == (1, 0)
    [stored] = alerts_named(engine, name)
    listed = alertmanager.listed_named(name)
    assert (stored.fingerprint, stored.status, stored.source) == (
        listed["fingerprint"],
        "firing",
        "alertmanager",
    )
    incident = incident_of(engine, stored)
    assert (incident.state, incident.level, incident.source) == ("open", "critical", "alert")
    assert repairs_counted(engine) == {"missing_firing": 1.0}
    with Session(engine) as session:
        assert session.scalars(select(DeliveryRecord.receiver)).all() == [RECEIVER]


def test_an_alert_alertmanager_no_longer_has_is_resolved_and_its_incident_with_it(
    alertmanager: RealAlertmanager, engine: Engine
) -> None:
    name = unique_name("LostResolved")
    alert = am_alert(name, starts_at=utc_now() - timedelta(minutes=10))
    alertmanager.post(alert)
    receive_webhook(
        engine, alert, at=utc_now() - timedelta(seconds=1), external_url=alertmanager.url
    )
    [held] = alerts_named(engine, name)
    assert incident_of(engine, held).state == "open"
    # It resolves in Alertmanager, and the resolved webhook is lost.
    alertmanager.end(alert)
    before = utc_now()

    report = reconcile(engine, alertmanager, grace=NO_GRACE)

    assert (report.added, report.resolved, report.held_back) == (0, 1, 0)
    [resolved] = alerts_named(engine, name)
    assert (resolved.starts_at, resolved.status) == (held.starts_at, "resolved")
    assert resolved.ends_at is not None and resolved.ends_at >= before
    incident = incident_of(engine, resolved)
    assert incident.state == "resolved"
    assert repairs_counted(engine) == {"lost_resolved": 1.0}


def test_a_start_with_microseconds_is_recognised_in_the_millisecond_listing(
    alertmanager: RealAlertmanager, engine: Engine
) -> None:
    name = unique_name("Precise")
    alert = am_alert(name, starts_at=utc_now() - timedelta(minutes=4, microseconds=321))
    alertmanager.post(alert)
    receive_webhook(
        engine, alert, at=utc_now() - timedelta(minutes=1), external_url=alertmanager.url
    )
    before = everything(engine)

    report = reconcile(engine, alertmanager, grace=NO_GRACE)

    assert (report.added, report.resolved) == (0, 0)
    assert everything(engine) == before


def test_silenced_alerts_stay_firing_and_unknown_ones_are_not_added(
    alertmanager: RealAlertmanager, engine: Engine
) -> None:
    held_name, unknown_name = unique_name("SilencedHeld"), unique_name("SilencedUnknown")
    held_alert = am_alert(held_name, starts_at=utc_now() - timedelta(minutes=9))
    alertmanager.post(held_alert, am_alert(unknown_name, starts_at=utc_now()))
    receive_webhook(
        engine, held_alert, at=utc_now() - timedelta(minutes=1), external_url=alertmanager.url
    )
    alertmanager.silence(held_name)
    alertmanager.silence(unknown_name)
    wait_until(
        lambda: {a["status"]["state"] for a in alertmanager.listed()} == {"suppressed"},
        what="the silences to apply",
    )

    report = reconcile(engine, alertmanager, grace=NO_GRACE)

    assert (report.added, report.resolved) == (0, 0)
    assert [a.status for a in alerts_named(engine, held_name)] == ["firing"]
    assert alerts_named(engine, unknown_name) == []


def test_nothing_is_resolved_while_alertmanager_is_up_for_less_than_the_grace(
    alertmanager: RealAlertmanager, engine: Engine
) -> None:
    held_name, new_name = unique_name("HeldThroughRestart"), unique_name("NewAfterRestart")
    held_alert = am_alert(held_name, starts_at=utc_now() - timedelta(hours=1))
    alertmanager.post(held_alert)
    receive_webhook(
        engine, held_alert, at=utc_now() - timedelta(minutes=30), external_url=alertmanager.url
    )
    alertmanager.end(held_alert)
    alertmanager.post(am_alert(new_name, starts_at=utc_now()))

    # This Alertmanager started seconds ago: as after a restart, its list may be partial.
    report = reconcile(engine, alertmanager, grace=timedelta(hours=1))

    assert (report.added, report.resolved, report.held_back) == (1, 0, 1)
    assert report.skipped_reason is not None and "grace" in report.skipped_reason
    [held] = alerts_named(engine, held_name)
    assert held.status == "firing"
    assert incident_of(engine, held).state == "open"
    assert [a.status for a in alerts_named(engine, new_name)] == ["firing"]


def test_an_instance_received_within_the_grace_is_not_resolved(
    alertmanager: RealAlertmanager, engine: Engine
) -> None:
    grace = timedelta(seconds=2)
    wait_until(
        lambda: (
            utc_now() - read_alertmanager(alertmanager.client, alertmanager.url).started_at > grace
        ),
        what="Alertmanager to be up for longer than the grace",
    )
    recent, old = unique_name("JustReceived"), unique_name("LongAgo")
    recent_alert = am_alert(recent, starts_at=utc_now() - timedelta(minutes=2))
    old_alert = am_alert(old, starts_at=utc_now() - timedelta(minutes=2))
    alertmanager.post(recent_alert, old_alert)
    receive_webhook(
        engine, old_alert, at=utc_now() - timedelta(minutes=1), external_url=alertmanager.url
    )
    alertmanager.end(recent_alert, old_alert)
    # A webhook that raced the GET: Alertmanager sent it, then dropped the alert.
    receive_webhook(engine, recent_alert, at=utc_now(), external_url=alertmanager.url)

    report = reconcile(engine, alertmanager, grace=grace)

    assert (report.resolved, report.held_back, report.skipped_reason) == (1, 1, None)
    assert [a.status for a in alerts_named(engine, recent)] == ["firing"]
    assert [a.status for a in alerts_named(engine, old)] == ["resolved"]


@pytest.mark.parametrize("reachable", [False, True], ids=["refused", "wrong-path-404"])
def test_an_alertmanager_that_cannot_be_read_changes_nothing(
    alertmanager: RealAlertmanager,
    engine: Engine,
    free_port: Callable[[], int],
    reachable: bool,
) -> None:
    name = unique_name("HeldWhileUnreadable")
    alert = am_alert(name, starts_at=utc_now() - timedelta(minutes=5))
    alertmanager.post(alert)
    receive_webhook(
        engine, alert, at=utc_now() - timedelta(minutes=1), external_url=alertmanager.url
    )
    alertmanager.end(alert)
    alertmanager.post(am_alert(unique_name("NotAddedEither"), starts_at=utc_now()))
    before = everything(engine)
    # Without the route prefix, the real Alertmanager answers 404.
    where = alertmanager.url.removesuffix(PREFIX) if reachable else f"127.0.0.1:{free_port()}"
    url = f"http://ops:s3cret@{where.removeprefix('http://')}/"

    with pytest.raises(AlertmanagerUnavailable) as raised:
        reconcile(engine, alertmanager, grace=NO_GRACE, url=url)

    assert "s3cret" not in str(raised.value)
    assert ("HTTP 404" in str(raised.value)) is reachable
    assert everything(engine) == before


def test_reconciling_twice_changes_nothing_the_second_time(
    alertmanager: RealAlertmanager, engine: Engine
) -> None:
    lost, new = unique_name("TwiceLost"), unique_name("TwiceNew")
    lost_alert = am_alert(lost, starts_at=utc_now() - timedelta(minutes=20))
    alertmanager.post(lost_alert)
    receive_webhook(
        engine, lost_alert, at=utc_now() - timedelta(minutes=1), external_url=alertmanager.url
    )
    alertmanager.end(lost_alert)
    alertmanager.post(am_alert(new, starts_at=utc_now() - timedelta(minutes=2)))

    first = reconcile(engine, alertmanager, grace=NO_GRACE, url=f"{alertmanager.url}/")
    after_first = everything(engine)
    second = reconcile(engine, alertmanager, grace=NO_GRACE)

    assert (first.added, first.resolved) == (1, 1)
    assert (second.listed, second.added, second.resolved, second.held_back) == (1, 0, 0, 0)
    assert everything(engine) == after_first


def test_a_route_prefix_is_reached_with_or_without_a_trailing_slash(
    alertmanager: RealAlertmanager,
) -> None:
    for url in (alertmanager.url, f"{alertmanager.url}/", f"{alertmanager.url}//"):
        assert read_alertmanager(alertmanager.client, url).started_at <= utc_now()


def test_the_captured_fixture_has_the_shape_the_real_binary_answers(
    alertmanager: RealAlertmanager,
) -> None:
    alertmanager.post(am_alert(unique_name("Shape"), starts_at=utc_now()))
    fixture = json.loads(
        (Path(__file__).parents[1] / "fixtures/alertmanager_v2_alerts.json").read_text()
    )
    [live] = alertmanager.listed()
    assert set(live) == set(fixture[0]) | {"generatorURL"}
    assert set(live["status"]) == set(fixture[0]["status"])


def test_only_what_this_alertmanager_delivered_or_listed_is_resolved(
    alertmanager: RealAlertmanager, engine: Engine
) -> None:
    # Webhooks of this Alertmanager (its externalURL is its URL here), one posted by hand with
    # a fixture's externalURL, and an old firing replayed: none of them fires in it any more.
    ours, by_hand, replayed = (unique_name(n) for n in ("Ours", "ByHand", "Replayed"))
    ours_alert = am_alert(ours, starts_at=utc_now() - timedelta(minutes=10))
    alertmanager.post(ours_alert)
    receive_webhook(
        engine, ours_alert, at=utc_now() - timedelta(minutes=1), external_url=alertmanager.url
    )
    alertmanager.end(ours_alert)
    receive_webhook(
        engine,
        am_alert(by_hand, starts_at=utc_now() - timedelta(minutes=10)),
        at=utc_now() - timedelta(minutes=1),
        external_url="http://alertmanager.example.org:9093",
    )
    receive_webhook(
        engine,
        am_alert(replayed, starts_at=utc_now() - timedelta(days=11)),
        at=utc_now() - timedelta(minutes=1),
        external_url="",
    )

    report = reconcile(engine, alertmanager, grace=NO_GRACE)

    assert (report.resolved, report.foreign) == (1, 2)
    assert [a.status for a in alerts_named(engine, ours)] == ["resolved"]
    assert [a.status for a in alerts_named(engine, by_hand)] == ["firing"]
    assert [a.status for a in alerts_named(engine, replayed)] == ["firing"]


def test_an_alert_found_in_the_list_is_repaired_later_whatever_its_external_url(
    alertmanager: RealAlertmanager, engine: Engine
) -> None:
    # Alertmanager without --web.external-url names itself http://<hostname>:<port>.
    name = unique_name("ListedFirst")
    alert = am_alert(name, starts_at=utc_now() - timedelta(minutes=10))
    alertmanager.post(alert)
    receive_webhook(
        engine, alert, at=utc_now() - timedelta(minutes=1), external_url="http://am-7:9093"
    )

    first = reconcile(engine, alertmanager, grace=NO_GRACE)
    [marked] = alerts_named(engine, name)
    alertmanager.end(alert)
    second = reconcile(engine, alertmanager, grace=NO_GRACE)

    assert (first.resolved, second.resolved, second.foreign) == (0, 1, 0)
    assert marked.listed_by == alertmanager.url and marked.origin_url == "http://am-7:9093"
    assert [a.status for a in alerts_named(engine, name)] == ["resolved"]


def test_an_instance_keeps_the_origin_of_the_webhook_that_first_reported_it(
    engine: Engine,
) -> None:
    name = unique_name("Origin")
    alert = am_alert(name, starts_at=utc_now() - timedelta(minutes=10))
    receive_webhook(engine, alert, at=utc_now() - timedelta(minutes=2), external_url="http://one")
    receive_webhook(engine, alert, at=utc_now() - timedelta(minutes=1), external_url="http://two")
    [stored] = alerts_named(engine, name)
    assert (stored.origin_url, stored.origin_receiver, stored.receive_count) == (
        "http://one",
        "slakeeper",
        2,
    )
