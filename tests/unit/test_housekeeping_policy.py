"""What housekeeping may delete: retention, and the months an alert's figures need."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from housekeeping.policy import (
    AlertFacts,
    IncidentFacts,
    Retention,
    alert_may_go,
    months_overlapped,
    settled_months,
    settled_runs,
    watched_from,
)

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")
ZONES = [ZoneInfo("UTC"), SHANGHAI, ZoneInfo("America/New_York"), ZoneInfo("Pacific/Chatham")]
MONTHS = [f"{year}-{month:02d}" for year in (2023, 2024) for month in range(1, 13)]
OLD = datetime(2024, 11, 10, 8, 0, tzinfo=UTC)


def outage(**changes: object) -> AlertFacts:
    fields: dict[str, object] = {
        "status": "resolved",
        "impact": "outage",
        "service": "payments",
        "starts_at": OLD,
        "ends_at": OLD + timedelta(hours=1),
    }
    fields.update(changes)
    return AlertFacts(**fields)  # type: ignore[arg-type]


def may_go(alert: AlertFacts, *settled: str, retention: Retention | None = None) -> bool:
    return alert_may_go(
        alert,
        now=NOW,
        retention=retention or Retention(),
        settled={"payments": set(settled)},
        zone_of=lambda _: SHANGHAI,
    )


def test_a_firing_alert_never_goes() -> None:
    assert not may_go(outage(status="firing", ends_at=None), "2024-11")
    assert not may_go(outage(status="firing", impact="none"), "2024-11")


def test_an_alert_no_figure_counts_goes_after_its_retention_alone() -> None:
    assert may_go(outage(impact="none"))
    assert may_go(outage(impact=None))
    assert may_go(outage(service=None))
    recent = NOW - timedelta(days=399)
    assert not may_go(outage(impact="none", starts_at=recent, ends_at=recent))


def test_a_counted_alert_waits_for_every_month_it_overlaps_to_be_settled() -> None:
    assert not may_go(outage())
    assert may_go(outage(), "2024-11")
    # 30 November 20:00 UTC is already 1 December in Shanghai.
    late = datetime(2024, 11, 30, 15, 0, tzinfo=UTC)
    spanning = outage(starts_at=late, ends_at=late + timedelta(hours=2))
    assert not may_go(spanning, "2024-11")
    assert may_go(spanning, "2024-11", "2024-12")


def test_a_counted_alert_waits_for_its_incident_and_the_incident_s_months() -> None:
    incident = IncidentFacts("payments", OLD, datetime(2024, 12, 3, tzinfo=UTC))
    attached = outage(incident_id=7, incident=incident)
    assert not may_go(attached, "2024-11")
    assert may_go(attached, "2024-11", "2024-12")
    assert not may_go(outage(incident_id=7, incident=None), "2024-11", "2024-12")
    unresolved = IncidentFacts("payments", OLD, None)
    assert not may_go(outage(incident_id=7, incident=unresolved), "2024-11", "2024-12")
    moved = IncidentFacts("checkout", OLD, OLD + timedelta(hours=1))
    assert not may_go(outage(incident_id=7, incident=moved), "2024-11")


def test_retention_none_keeps_a_table_for_ever() -> None:
    forever = Retention(alerts=None)
    assert not may_go(outage(impact="none"), retention=forever)
    assert forever.cutoff("alerts", NOW) is None
    assert Retention().cutoff("deliveries", NOW) == NOW - timedelta(days=30)


def test_retention_in_days_takes_0_for_ever() -> None:
    retention = Retention.from_days(
        deliveries=0, alerts=10, notification_attempts=0, audit_events=5, batch_size=7
    )
    assert retention.deliveries is None and retention.notification_attempts is None
    assert retention.alerts == timedelta(days=10) and retention.batch_size == 7


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"alerts": timedelta(0)}, "retention of alerts"),
        ({"audit_events": timedelta(days=-1)}, "retention of audit_events"),
        ({"batch_size": 0}, "batch size"),
    ],
)
def test_a_retention_refuses_what_cannot_be_meant(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Retention(**changes)  # type: ignore[arg-type]


def test_a_month_is_settled_once_the_ledger_no_longer_watches_it() -> None:
    oldest = watched_from(NOW, timedelta(days=400))
    assert oldest == "2025-11"
    assert settled_months({"2025-10", "2025-11", "2026-01"}, oldest_watched=oldest) == {"2025-10"}


def test_months_overlapped_are_taken_in_the_service_s_time_zone() -> None:
    start = datetime(2024, 11, 30, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    assert months_overlapped(start, start + timedelta(minutes=30), SHANGHAI) == ["2024-11"]
    assert months_overlapped(start, start + timedelta(hours=2), SHANGHAI) == [
        "2024-11",
        "2024-12",
    ]
    # Ending exactly at the next month's local midnight overlaps only November.
    midnight = datetime(2024, 11, 30, 16, 0, tzinfo=UTC)
    assert months_overlapped(start, midnight, SHANGHAI) == ["2024-11"]
    assert months_overlapped(midnight, midnight, SHANGHAI) == ["2024-12"]


def test_consecutive_months_make_one_run_across_a_year() -> None:
    runs = settled_runs("payments", {"2023-12", "2024-01", "2024-03"}, SHANGHAI)
    assert [(run.start, run.end) for run in runs] == [
        (datetime(2023, 11, 30, 16, tzinfo=UTC), datetime(2024, 1, 31, 16, tzinfo=UTC)),
        (datetime(2024, 2, 29, 16, tzinfo=UTC), datetime(2024, 3, 31, 16, tzinfo=UTC)),
    ]


instants = st.datetimes(
    min_value=datetime(2022, 12, 1), max_value=datetime(2025, 2, 1), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(
    months=st.sets(st.sampled_from(MONTHS)),
    zone=st.sampled_from(ZONES),
    start=instants,
    length=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=80)),
)
def test_lying_inside_a_run_is_the_same_as_every_month_settled(
    months: set[str], zone: ZoneInfo, start: datetime, length: timedelta
) -> None:
    # The SQL's test (housekeeping.sweeping._counted) against the rule month by month.
    end = start + length
    inside = any(
        run.start <= start < run.end and end <= run.end for run in settled_runs("s", months, zone)
    )
    assert inside == all(month in months for month in months_overlapped(start, end, zone))


def test_the_settings_give_each_table_its_retention(monkeypatch: pytest.MonkeyPatch) -> None:
    from slakeeper.settings import load_settings

    assert load_settings().retention() == Retention()
    monkeypatch.setenv("SLAKEEPER_RETENTION_ALERTS_DAYS", "0")
    monkeypatch.setenv("SLAKEEPER_RETENTION_DELIVERIES_DAYS", "7")
    monkeypatch.setenv("SLAKEEPER_HOUSEKEEPING_BATCH_SIZE", "50")
    retention = load_settings().retention()
    assert retention.alerts is None and retention.deliveries == timedelta(days=7)
    assert retention.batch_size == 50 and retention.audit_events == timedelta(days=730)
