"""What reconciliation repairs, from Alertmanager 0.25's real answers (captured from the binary).

`alertmanager_v2_alerts.json` holds five alerts: DiskFull db1 (critical), DiskFull db2
(warning, inhibited by db1), HighLatency (silenced), Watchdog (routed to `blackhole`) and
InjectedAlert (posted by amtool without a start). `alertmanager_v2_alerts_webhook.json` is
the webhook the same Alertmanager sent for InjectedAlert.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from collector.alertmanager_answers import (
    AlertmanagerAlert,
    comparable_url,
    parse_alerts,
    parse_started_at,
)
from collector.alertmanager_client import (
    AlertmanagerUnavailable,
    alertmanager_endpoint,
    read_alertmanager,
)
from collector.alerts import AlertStatus, Source
from collector.fingerprint import labels_fingerprint
from collector.normalise import from_alertmanager_webhook
from collector.schemas import AlertmanagerWebhook
from core.counters import counter_key
from incident.reconcile import RECONCILIATION_REPAIRS, repair_counts
from incident.repairs import HeldInstance, Origin, RepairKind, RepairPlan, plan_repairs
from tests.conftest import fixture_text

STARTED_AT = datetime(2026, 11, 22, 2, 21, 12, 582000, tzinfo=UTC)
NOW = datetime(2026, 11, 22, 2, 21, 20, tzinfo=UTC)
LONG_UP = NOW - timedelta(hours=1)
AN_HOUR_AGO = NOW - timedelta(hours=1)
LISTED = parse_alerts(fixture_text("alertmanager_v2_alerts.json").encode())
AM = "http://127.0.0.1:9093"
"""The Alertmanager reconciled: the URL read, and the `externalURL` its webhooks carry."""


def listed(alertname: str, instance: str | None = None) -> AlertmanagerAlert:
    [found] = [
        alert
        for alert in LISTED
        if alert.labels["alertname"] == alertname and alert.labels.get("instance") == instance
    ]
    return found


def held(
    alertname: str = "Gone",
    *,
    starts_at: datetime = NOW - timedelta(hours=2),
    last_received_at: datetime = AN_HOUR_AGO,
    fingerprint: str | None = None,
    origin_url: str | None = AM,
    origin_receiver: str | None = "slakeeper",
    listed_by: str | None = None,
) -> HeldInstance:
    """An instance a webhook of `origin_url` (by default, the reconciled one) brought."""
    labels = {"alertname": alertname, "severity": "critical"}
    return HeldInstance(
        fingerprint=fingerprint or labels_fingerprint(labels),
        starts_at=starts_at,
        last_received_at=last_received_at,
        labels=labels,
        annotations={},
        generator_url="",
        origin_url=origin_url,
        origin_receiver=origin_receiver,
        listed_by=listed_by,
    )


def held_as_listed(
    alert: AlertmanagerAlert,
    *,
    starts_at: datetime | None = None,
    last_received_at: datetime = AN_HOUR_AGO,
    listed_by: str | None = AM,
) -> HeldInstance:
    """The instance slakeeper would hold for `alert`, had its webhook arrived; by default an
    earlier run found it listed."""
    return HeldInstance(
        fingerprint=alert.fingerprint,
        starts_at=starts_at or alert.starts_at,
        last_received_at=last_received_at,
        labels=alert.labels,
        annotations=alert.annotations,
        generator_url=alert.generator_url,
        origin_url=AM,
        origin_receiver="slakeeper",
        listed_by=listed_by,
    )


def plan(
    *,
    alerts: Iterable[AlertmanagerAlert] = LISTED,
    held_firing: Iterable[HeldInstance] = (),
    known: Iterable[tuple[str, datetime]] = (),
    started_at: datetime = LONG_UP,
    now: datetime = NOW,
    grace: timedelta = timedelta(minutes=5),
    receivers: Iterable[str] | None = None,
    external_urls: Iterable[str] = (),
) -> RepairPlan:
    return plan_repairs(
        tuple(alerts),
        started_at=started_at,
        held_firing=tuple(held_firing),
        known=tuple(known),
        now=now,
        grace=grace,
        origin=Origin.of(AM, external_urls, None if receivers is None else list(receivers)),
    )


def known_all() -> list[tuple[str, datetime]]:
    return [(alert.fingerprint, alert.starts_at) for alert in LISTED]


def test_the_real_answer_lists_suppressed_alerts_at_millisecond_precision() -> None:
    assert len(LISTED) == 5
    assert {alert.labels["alertname"] for alert in LISTED} == {
        "DiskFull",
        "HighLatency",
        "Watchdog",
        "InjectedAlert",
    }
    assert all(alert.starts_at.microsecond % 1000 == 0 for alert in LISTED)
    # amtool posted no start: Alertmanager's own, which its webhook gave in nanoseconds.
    assert listed("InjectedAlert").starts_at == datetime(2026, 11, 22, 2, 21, 13, 33000, tzinfo=UTC)
    assert listed("DiskFull", "db1").generator_url.startswith("http://prometheus:9090/graph")
    assert listed("Watchdog").receivers == ("blackhole",)
    # While an alert fires, its endsAt is only when Alertmanager would let it expire.
    assert all(alert.ends_at is not None and alert.ends_at > NOW for alert in LISTED)


def test_alertmanager_fingerprints_are_the_ones_slakeeper_computes_from_labels() -> None:
    assert all(alert.fingerprint == labels_fingerprint(alert.labels) for alert in LISTED)


def test_the_status_answer_says_when_alertmanager_started() -> None:
    assert parse_started_at(fixture_text("alertmanager_v2_status.json").encode()) == STARTED_AT


def test_alerts_slakeeper_does_not_know_are_added_as_firing_observations() -> None:
    repairs = plan()
    # Five listed, two of them suppressed (silenced, inhibited): those are not added.
    assert len(repairs.missing) == 3
    assert repairs.lost == ()
    db1 = next(o for o in repairs.missing if o.labels.get("instance") == "db1")
    expected = listed("DiskFull", "db1")
    assert (db1.fingerprint, db1.starts_at, db1.status, db1.ends_at) == (
        expected.fingerprint,
        expected.starts_at,
        AlertStatus.FIRING,
        None,
    )
    assert db1.annotations == {"summary": "disk of db1 is full"}
    assert (db1.source, db1.received_at) == (Source.ALERTMANAGER, NOW)


def test_known_instances_are_not_added_again_whatever_their_status() -> None:
    # A resolved instance Alertmanager still lists as firing is not revived either.
    assert plan(known=known_all()).missing == ()


def test_a_start_received_in_nanoseconds_matches_the_one_listed_in_milliseconds() -> None:
    webhook = AlertmanagerWebhook.model_validate_json(
        fixture_text("alertmanager_v2_alerts_webhook.json")
    )
    [received] = from_alertmanager_webhook(webhook, now=NOW).alerts
    assert received.starts_at is not None
    assert received.starts_at != listed("InjectedAlert").starts_at
    instance = held_as_listed(listed("InjectedAlert"), starts_at=received.starts_at)

    repairs = plan(held_firing=[instance], known=[(received.fingerprint, received.starts_at)])

    assert "InjectedAlert" not in {o.labels["alertname"] for o in repairs.missing}
    assert repairs.lost == ()
    assert repairs.held_back == 0


def test_silenced_and_inhibited_alerts_still_fire() -> None:
    silenced = held_as_listed(listed("HighLatency"))
    inhibited = held_as_listed(listed("DiskFull", "db2"))
    repairs = plan(held_firing=[silenced, inhibited], known=known_all())
    assert repairs == RepairPlan((), (), 0, None)


def test_silenced_and_inhibited_alerts_slakeeper_never_heard_of_are_not_added() -> None:
    # Alertmanager withholds them on purpose: a silence must not open an incident here.
    added = {(o.labels["alertname"], o.labels.get("instance")) for o in plan(known=[]).missing}
    assert ("HighLatency", None) not in added
    assert ("DiskFull", "db2") not in added
    assert listed("HighLatency").suppressed and listed("DiskFull", "db2").suppressed
    assert not listed("DiskFull", "db1").suppressed
    assert ("DiskFull", "db1") in added


def test_a_firing_instance_alertmanager_no_longer_lists_is_resolved_now() -> None:
    gone = held()
    [resolution] = plan(held_firing=[gone], known=known_all()).lost
    assert (resolution.fingerprint, resolution.starts_at) == (gone.fingerprint, gone.starts_at)
    assert (resolution.status, resolution.ends_at) == (AlertStatus.RESOLVED, NOW)
    assert resolution.labels == gone.labels
    assert (resolution.source, resolution.received_at) == (Source.ALERTMANAGER, NOW)


def test_nothing_is_resolved_while_alertmanager_has_been_up_for_less_than_the_grace() -> None:
    # The real status: Alertmanager started 7 s before NOW, and lists only what it got since.
    repairs = plan(alerts=[], held_firing=[held()], started_at=STARTED_AT)
    assert repairs.lost == ()
    assert repairs.held_back == 1
    assert repairs.skipped_reason is not None
    assert "up for 7 s" in repairs.skipped_reason
    assert "300 s grace" in repairs.skipped_reason


def test_an_alertmanager_clock_ahead_of_ours_counts_as_just_started() -> None:
    repairs = plan(alerts=[], held_firing=[held()], started_at=NOW + timedelta(minutes=1))
    assert (repairs.lost, repairs.held_back) == ((), 1)


def test_an_instance_received_within_the_grace_is_not_resolved() -> None:
    # Its webhook may have come after the GET: Alertmanager had it, the list did not yet.
    recent = held(last_received_at=NOW - timedelta(minutes=1))
    repairs = plan(held_firing=[recent], known=known_all())
    assert (repairs.lost, repairs.held_back, repairs.skipped_reason) == ((), 1, None)


def test_with_no_grace_a_missing_instance_is_resolved_at_once() -> None:
    repairs = plan(
        alerts=[], held_firing=[held(last_received_at=NOW)], started_at=NOW, grace=timedelta(0)
    )
    assert [o.ends_at for o in repairs.lost] == [NOW]


def test_a_later_start_of_the_same_alert_ends_the_held_instance_when_it_began() -> None:
    current = listed("DiskFull", "db1")
    earlier = held_as_listed(current, starts_at=current.starts_at - timedelta(hours=3))
    repairs = plan(
        held_firing=[earlier], known=[*known_all(), (earlier.fingerprint, earlier.starts_at)]
    )
    [resolution] = repairs.lost
    assert resolution.starts_at == earlier.starts_at
    assert resolution.ends_at == current.starts_at


def test_a_listed_alert_whose_end_has_passed_is_resolved_at_that_end() -> None:
    # Alertmanager drops an alert once its endsAt passes; one that passed after the GET is
    # still in the answer, and ended then, not now. No grace: Alertmanager said so itself.
    db1 = listed("DiskFull", "db1")
    assert db1.ends_at is not None
    later = db1.ends_at + timedelta(seconds=30)
    instance = held_as_listed(db1, last_received_at=later)
    others = [key for key in known_all() if key[0] != db1.fingerprint]

    repairs = plan(held_firing=[instance], known=others, started_at=later, now=later)

    [resolution] = repairs.lost
    assert (resolution.status, resolution.ends_at) == (AlertStatus.RESOLVED, db1.ends_at)
    assert repairs.missing == ()


def test_an_unknown_listed_alert_whose_end_has_passed_is_added_resolved() -> None:
    db1 = listed("DiskFull", "db1")
    assert db1.ends_at is not None
    [added] = plan(alerts=[db1], now=db1.ends_at).missing
    assert (added.status, added.ends_at) == (AlertStatus.RESOLVED, db1.ends_at)


def test_receivers_limit_what_is_added_but_any_listed_alert_is_present() -> None:
    watchdog = held_as_listed(listed("Watchdog"))
    repairs = plan(held_firing=[watchdog], receivers=["slakeeper"])
    assert {o.labels["alertname"] for o in repairs.missing} == {"DiskFull", "InjectedAlert"}
    assert repairs.lost == ()


def test_an_instance_another_alertmanager_delivered_is_not_resolved() -> None:
    # Posted by hand with a fixture's externalURL, or an old firing replayed: this
    # Alertmanager never had it, so its list says nothing about it.
    by_hand = held("ByHand", origin_url="http://alertmanager.example.org:9093")
    from_nowhere = held("NoOrigin", origin_url=None, origin_receiver=None)
    repairs = plan(held_firing=[by_hand, from_nowhere], known=known_all())
    assert (repairs.lost, repairs.held_back, repairs.foreign) == ((), 0, 2)


def test_an_instance_found_in_the_list_is_repaired_whoever_delivered_it() -> None:
    # An Alertmanager without --web.external-url names itself http://<hostname>:9093.
    db1 = listed("DiskFull", "db1")
    instance = HeldInstance(
        fingerprint=db1.fingerprint,
        starts_at=db1.starts_at,
        last_received_at=AN_HOUR_AGO,
        labels=db1.labels,
        annotations=db1.annotations,
        generator_url=db1.generator_url,
        origin_url="http://am-host-7:9093",
        origin_receiver="slakeeper",
    )
    first = plan(held_firing=[instance], known=known_all())
    assert (first.listed, first.lost, first.foreign) == (((db1.fingerprint, db1.starts_at),), (), 0)

    marked = replace(instance, listed_by=AM)
    gone = plan(alerts=[a for a in LISTED if a != db1], held_firing=[marked], known=known_all())
    assert [(o.fingerprint, o.ends_at) for o in gone.lost] == [(db1.fingerprint, NOW)]
    assert gone.listed == ()


def test_the_configured_external_urls_are_this_alertmanagers_however_spelled() -> None:
    named = held(origin_url="HTTP://AM.example.org:80/")
    assert plan(held_firing=[named], known=known_all()).foreign == 1
    repairs = plan(held_firing=[named], known=known_all(), external_urls=["http://am.example.org"])
    assert (len(repairs.lost), repairs.foreign) == (1, 0)


def test_with_receivers_only_their_webhooks_are_this_alertmanagers_deliveries() -> None:
    other = held("Other", origin_receiver="another-team")
    ours = held("Ours", origin_receiver="slakeeper")
    repairs = plan(held_firing=[other, ours], known=known_all(), receivers=["slakeeper"])
    assert [o.labels["alertname"] for o in repairs.lost] == ["Ours"]
    assert repairs.foreign == 1


def test_a_listed_alert_routed_elsewhere_is_not_marked_as_delivered() -> None:
    watchdog = held_as_listed(listed("Watchdog"), listed_by=None)
    repairs = plan(held_firing=[watchdog], known=known_all(), receivers=["slakeeper"])
    assert repairs.listed == ()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:9093/", "http://127.0.0.1:9093"),
        ("HTTPS://AM.Example.org:443/am//", "https://am.example.org/am"),
        ("http://ops:s3cret@am.local:80/x?token=t", "http://am.local/x"),
        ("http://[::1]:9093", "http://[::1]:9093"),
    ],
)
def test_urls_compare_as_the_same_alertmanager(url: str, expected: str) -> None:
    assert comparable_url(url) == expected


def test_planning_again_after_the_repairs_repairs_nothing() -> None:
    gone = held()
    first = plan(held_firing=[gone])
    suppressed = [(a.fingerprint, a.starts_at) for a in LISTED if a.suppressed]
    now_known = [(gone.fingerprint, gone.starts_at), *known_all()]
    assert len(first.missing) + len(first.lost) == len(now_known) - len(suppressed)
    still_firing = [held_as_listed(alert) for alert in LISTED]
    assert plan(held_firing=still_firing, known=now_known) == RepairPlan((), (), 0, None)


def test_repairs_are_counted_by_kind() -> None:
    db1 = listed("DiskFull", "db1")
    assert db1.ends_at is not None
    repairs = plan(alerts=[db1, listed("InjectedAlert")], held_firing=[held()], now=db1.ends_at)
    assert repair_counts(repairs) == {
        counter_key(RECONCILIATION_REPAIRS, kind=RepairKind.MISSING_FIRING.value): 1,
        counter_key(RECONCILIATION_REPAIRS, kind=RepairKind.MISSING_RESOLVED.value): 1,
        counter_key(RECONCILIATION_REPAIRS, kind=RepairKind.LOST_RESOLVED.value): 1,
    }
    assert repair_counts(RepairPlan((), (), 3, "young")) == {}


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("http://127.0.0.1:9093", "http://127.0.0.1:9093/api/v2/alerts"),
        ("http://127.0.0.1:9093/", "http://127.0.0.1:9093/api/v2/alerts"),
        ("https://example.org/alertmanager", "https://example.org/alertmanager/api/v2/alerts"),
        ("https://example.org/alertmanager/", "https://example.org/alertmanager/api/v2/alerts"),
        ("http://ops:s3cret@am.local/am/", "http://ops:s3cret@am.local/am/api/v2/alerts"),
    ],
)
def test_the_api_path_goes_under_the_route_prefix(base: str, expected: str) -> None:
    assert str(alertmanager_endpoint(base, "/api/v2/alerts")) == expected


@pytest.mark.parametrize("base", ["am.local:9093", "ftp://am.local/", "http://ops:s3cret@[::1"])
def test_a_url_that_is_not_http_is_refused_without_quoting_it(base: str) -> None:
    with pytest.raises(ValueError) as raised:
        alertmanager_endpoint(base, "/api/v2/alerts")
    assert "s3cret" not in str(raised.value)


SECRET_URL = "http://ops:s3cret@am.local/am?token=t0ken"


def read_from(handler: httpx.MockTransport) -> str:
    with (
        httpx.Client(transport=handler) as client,
        pytest.raises(AlertmanagerUnavailable) as raised,
    ):
        read_alertmanager(client, SECRET_URL)
    # Not in the message, nor anywhere in the traceback a log would show.
    shown = "".join(traceback.format_exception(raised.value))
    assert "s3cret" not in shown
    assert "t0ken" not in shown
    return str(raised.value)


def test_an_error_status_is_reported_without_credentials() -> None:
    message = read_from(httpx.MockTransport(lambda request: httpx.Response(503)))
    assert message == "Alertmanager at http://am.local/am/api/v2/alerts answered HTTP 503"


def test_a_transport_error_is_reported_without_credentials() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect to {request.url}", request=request)

    message = read_from(httpx.MockTransport(refuse))
    assert message.startswith("cannot reach Alertmanager at http://am.local/am/api/v2/alerts")
    assert "ConnectError" in message


def test_an_answer_that_is_not_alertmanagers_is_refused_whole() -> None:
    answer = fixture_text("alertmanager_v2_alerts.json").replace(
        '"fingerprint": "b1889d36cf7ec910"', '"fingerprint": 7'
    )

    def respond(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/alerts"):
            return httpx.Response(200, text=answer)
        return httpx.Response(200, text=fixture_text("alertmanager_v2_status.json"))

    message = read_from(httpx.MockTransport(respond))
    assert "not its API's" in message
    assert "fingerprint" in message


def test_both_answers_are_read_asking_for_every_alert_state() -> None:
    seen: list[httpx.URL] = []

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        if request.url.path.endswith("/alerts"):
            return httpx.Response(200, text=fixture_text("alertmanager_v2_alerts.json"))
        return httpx.Response(200, text=fixture_text("alertmanager_v2_status.json"))

    with httpx.Client(transport=httpx.MockTransport(respond)) as client:
        snapshot = read_alertmanager(client, "http://am.local/am/?tenant=ops")
    assert snapshot.alerts == LISTED
    assert snapshot.started_at == STARTED_AT
    assert [url.path for url in seen] == ["/am/api/v2/alerts", "/am/api/v2/status"]
    assert dict(seen[0].params) == {
        "tenant": "ops",
        "active": "true",
        "silenced": "true",
        "inhibited": "true",
        "unprocessed": "true",
    }
