"""Payloads of Alertmanager, Prometheus and Grafana parse and normalise as their senders mean."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from collector.alerts import AlertStatus, Source
from collector.normalise import (
    from_alertmanager_webhook,
    from_grafana_webhook,
    from_prometheus_alerts,
)
from collector.schemas import (
    NUL_FREE,
    AlertmanagerWebhook,
    GrafanaWebhook,
    PostableAlerts,
    validation_context,
)
from tests.conftest import fixture_text

NOW = datetime(2026, 11, 21, 23, 0, tzinfo=UTC)


def am(fixture: str) -> AlertmanagerWebhook:
    return AlertmanagerWebhook.model_validate_json(fixture_text(f"alertmanager-0.25/{fixture}"))


def test_a_firing_webhook_gives_a_firing_observation_without_an_end() -> None:
    delivery = from_alertmanager_webhook(am("webhook_firing_critical.json"), now=NOW)
    [alert] = delivery.alerts
    assert alert.status is AlertStatus.FIRING
    assert alert.ends_at is None
    assert alert.starts_at == datetime(2026, 11, 21, 22, 58, 1, 778000, tzinfo=UTC)
    assert alert.fingerprint == "d27b75834201ca73"
    assert alert.labels["severity"] == "critical"
    assert alert.source is Source.ALERTMANAGER
    assert alert.received_at == NOW


def test_the_envelope_is_kept_for_the_delivery_record() -> None:
    delivery = from_alertmanager_webhook(am("webhook_firing_warning.json"), now=NOW)
    assert delivery.receiver == "webhook"
    assert delivery.group_key == '{}:{alertname="ProbeValueHigh", severity="warning"}'
    assert delivery.external_url == "http://vm:19093"
    assert delivery.truncated_alerts == 0
    assert delivery.status == "firing"


def test_nanosecond_timestamps_are_cut_to_microseconds() -> None:
    [alert] = from_alertmanager_webhook(am("webhook_amtool_firing.json"), now=NOW).alerts
    assert alert.starts_at == datetime(2026, 11, 21, 22, 58, 21, 503112, tzinfo=UTC)


def test_a_resolved_webhook_sets_the_end() -> None:
    [alert] = from_alertmanager_webhook(am("webhook_resolved_critical.json"), now=NOW).alerts
    assert alert.status is AlertStatus.RESOLVED
    assert alert.ends_at == datetime(2026, 11, 21, 22, 58, 6, 778000, tzinfo=UTC)


def test_a_webhook_alert_without_fingerprint_gets_the_one_alertmanager_would_give() -> None:
    payload = fixture_text("alertmanager-0.25/webhook_firing_warning.json").replace(
        ',"fingerprint":"1ca65c6243492032"', ""
    )
    [alert] = from_alertmanager_webhook(
        AlertmanagerWebhook.model_validate_json(payload), now=NOW
    ).alerts
    assert alert.fingerprint == "1ca65c6243492032"


def test_prometheus_alerts_with_a_future_end_are_firing() -> None:
    alerts = PostableAlerts.validate_json(fixture_text("prometheus-2.42/api_v2_alerts_firing.json"))
    [alert] = from_prometheus_alerts(alerts, now=NOW).alerts
    assert alert.status is AlertStatus.FIRING
    assert alert.ends_at is None
    assert alert.fingerprint == "1ca65c6243492032"
    assert alert.source is Source.PROMETHEUS


def test_prometheus_alerts_whose_end_has_passed_are_resolved() -> None:
    alerts = PostableAlerts.validate_json(
        fixture_text("prometheus-2.42/api_v2_alerts_resolved.json")
    )
    [alert] = from_prometheus_alerts(alerts, now=NOW).alerts
    assert alert.status is AlertStatus.RESOLVED
    assert alert.ends_at == datetime(2026, 11, 21, 22, 58, 52, 778000, tzinfo=UTC)


def test_a_prometheus_alert_ending_exactly_now_is_resolved() -> None:
    body = (
        '[{"labels":{"alertname":"A"},"startsAt":"2026-11-21T22:00:00Z",'
        '"endsAt":"2026-11-21T23:00:00Z"}]'
    )
    [alert] = from_prometheus_alerts(PostableAlerts.validate_json(body), now=NOW).alerts
    assert alert.status is AlertStatus.RESOLVED


def test_a_prometheus_alert_without_start_leaves_the_start_to_the_store() -> None:
    body = '[{"labels":{"alertname":"A"},"startsAt":"0001-01-01T00:00:00Z"}]'
    [alert] = from_prometheus_alerts(PostableAlerts.validate_json(body), now=NOW).alerts
    assert alert.starts_at is None
    assert alert.status is AlertStatus.FIRING


def test_grafana_timestamps_with_offsets_become_utc() -> None:
    payload = GrafanaWebhook.model_validate_json(fixture_text("grafana/webhook_firing.json"))
    firing, resolved = from_grafana_webhook(payload, now=NOW).alerts
    assert firing.starts_at == datetime(2026, 11, 21, 7, 51, 3, 157076, tzinfo=UTC)
    assert firing.source is Source.GRAFANA
    assert firing.fingerprint == "c6eadffa33fcdf37"
    assert resolved.status is AlertStatus.RESOLVED
    assert resolved.ends_at == datetime(2026, 11, 21, 15, 5, 30, 500000, tzinfo=UTC)


def test_empty_label_values_mean_the_label_is_absent() -> None:
    body = '[{"labels":{"alertname":"A","job":""},"startsAt":"2026-11-21T22:00:00Z"}]'
    [alert] = from_prometheus_alerts(PostableAlerts.validate_json(body), now=NOW).alerts
    assert dict(alert.labels) == {"alertname": "A"}


def test_unknown_fields_and_unknown_severities_are_accepted() -> None:
    body = (
        '[{"labels":{"alertname":"A","severity":"apocalyptic"},"startsAt":"2026-11-21T22:00:00Z",'
        '"somethingNew":{"x":1}}]'
    )
    [alert] = from_prometheus_alerts(PostableAlerts.validate_json(body), now=NOW).alerts
    assert alert.labels["severity"] == "apocalyptic"


def locations(error: ValidationError) -> set[tuple[object, ...]]:
    return {
        tuple(p for p in e["loc"] if not str(p).startswith("function-")) for e in error.errors()
    }


@pytest.mark.parametrize(
    ("body", "location"),
    [
        (
            '[{"labels":{"alertname":1},"startsAt":"2026-11-21T22:00:00Z"}]',
            (0, "labels", "alertname"),
        ),
        ('[{"labels":{},"startsAt":"2026-11-21T22:00:00Z"}]', (0, "labels")),
        ('[{"labels":{"a":"b"},"startsAt":"yesterday"}]', (0, "startsAt")),
        ('[{"labels":{"a":"b"},"startsAt":"2026-11-21T22:00:00"}]', (0, "startsAt")),
        ('[{"labels":{"a":"b"},"startsAt":1700000000}]', (0, "startsAt")),
        ('[{"labels":{"bad-name":"b"},"startsAt":"2026-11-21T22:00:00Z"}]', (0, "labels")),
        ('[{"labels":{"a":"b\\u0000"},"startsAt":"2026-11-21T22:00:00Z"}]', (0, "labels")),
        (
            '[{"labels":{"a":"b"},"startsAt":"2026-11-21T22:00:00Z","endsAt":"2026-11-21T21:00:00Z"}]',
            (0,),
        ),
        ('[{"annotations":{}}]', (0, "labels")),
        ('{"labels":{"a":"b"}}', ()),
    ],
)
def test_invalid_prometheus_alerts_name_the_field(body: str, location: tuple[object, ...]) -> None:
    with pytest.raises(ValidationError) as raised:
        PostableAlerts.validate_json(body)
    assert location in locations(raised.value)


def test_an_unknown_status_is_rejected_with_its_path() -> None:
    body = fixture_text("alertmanager-0.25/webhook_firing_warning.json").replace(
        '"alerts":[{"status":"firing"', '"alerts":[{"status":"burning"'
    )
    with pytest.raises(ValidationError) as raised:
        AlertmanagerWebhook.model_validate_json(body)
    assert ("alerts", 0, "status") in locations(raised.value)


def test_a_webhook_of_another_version_is_rejected() -> None:
    body = fixture_text("alertmanager-0.25/webhook_firing_warning.json").replace(
        '"version":"4"', '"version":"5"'
    )
    with pytest.raises(ValidationError) as raised:
        AlertmanagerWebhook.model_validate_json(body)
    assert ("version",) in locations(raised.value)


def test_a_webhook_missing_its_start_time_is_rejected() -> None:
    body = fixture_text("alertmanager-0.25/webhook_firing_warning.json").replace(
        '"startsAt":"2026-11-21T22:57:56.778Z",', ""
    )
    with pytest.raises(ValidationError) as raised:
        AlertmanagerWebhook.model_validate_json(body)
    assert ("alerts", 0, "startsAt") in locations(raised.value)


def test_a_negative_truncation_count_is_rejected() -> None:
    body = fixture_text("alertmanager-0.25/webhook_firing_warning.json").replace(
        '"truncatedAlerts":0', '"truncatedAlerts":-1'
    )
    with pytest.raises(ValidationError) as raised:
        AlertmanagerWebhook.model_validate_json(body)
    assert ("truncatedAlerts",) in locations(raised.value)


@pytest.mark.parametrize(
    "labels",
    ['{"a":"b\\u0000"}', '{"a\\u0000":"b"}', '{"a":"\\\\\\u0000"}'],
)
def test_a_nul_in_a_label_is_refused_whatever_the_escapes_around_it(labels: str) -> None:
    body = f'[{{"labels":{labels},"startsAt":"2026-11-21T22:00:00Z"}}]'.encode()
    # The API validates in the context the body gives: a body with a NUL is never NUL_FREE.
    assert validation_context(body) is None
    with pytest.raises(ValidationError) as raised:
        PostableAlerts.validate_json(body, context=validation_context(body))
    assert (0, "labels") in locations(raised.value)


def test_a_body_without_a_nul_escape_skips_the_nul_scan_and_still_validates() -> None:
    body = fixture_text("alertmanager-0.25/webhook_firing_warning.json").encode()
    assert validation_context(body) is NUL_FREE
    parsed = AlertmanagerWebhook.model_validate_json(body, context=validation_context(body))
    assert parsed.alerts and all(alert.labels for alert in parsed.alerts)
    # A literal backslash-u text (an escaped backslash) is not a NUL: refused only if scanned.
    literal = b'[{"labels":{"a":"\\\\u0000"},"startsAt":"2026-11-21T22:00:00Z"}]'
    assert validation_context(literal) is None
    assert PostableAlerts.validate_json(literal, context=None)[0].labels == {"a": "\\u0000"}
