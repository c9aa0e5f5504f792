"""Housekeeping on SQLite and PostgreSQL: a closed month's figures survive its raw alerts,
an open month keeps them, tables kept by age lose what is past retention, in batches, and
every deletion is counted.

The example rule file puts `payments` in Asia/Shanghai: its November 2024 ran from
2024-10-31 16:00 to 2024-11-30 16:00 UTC. The clock stands on 7 December 2026, so with the
default retention (400 days) every alert of 2024 is past it, and the ledger no longer
watches 2024 for changes since close.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select

from access.models import AuditEvent
from availability.rendering import report_json
from collector.models import AlertInstance, DeliveryRecord
from collector.normalise import from_alertmanager_webhook
from collector.schemas import AlertmanagerWebhook
from core.counters import read_counters
from core.database import create_database_engine, writing_session
from housekeeping.jobs import HousekeepingJob, sweep
from housekeeping.policy import TABLES, Retention
from housekeeping.sweeping import DELETED
from incident.ingestion import apply_deliveries
from incident.models import Notification, NotificationAttempt
from ledger.jobs import watch_changes
from ledger.reporting import month_report
from ledger.service import close_month
from rules.loader import load_rule_file
from slakeeper.metrics import COUNTERS, HISTOGRAMS, DatabaseCounterCollector
from tests.conftest import FIXTURES
from tests.integration.payloads import webhook_alert, webhook_with

RULES = load_rule_file(FIXTURES / "example_rules.yaml")
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_database_engine(database_url)
    yield engine
    engine.dispose()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def push(engine: Engine, alert: dict[str, Any], *, now: datetime) -> None:
    """Ingest `alert` as its Alertmanager webhook arriving at `now` would be."""
    webhook = AlertmanagerWebhook.model_validate_json(json.dumps(webhook_with(alert)))
    with writing_session(engine) as session:
        apply_deliveries(
            session, [from_alertmanager_webhook(webhook, now=now)], rules=RULES, now=now
        )


def happened(engine: Engine, name: str, start: str, end: str | None, **labels: str) -> None:
    """An alert that fired at `start` and (unless None) resolved at `end`, as pushed then."""
    push(engine, webhook_alert(name, starts_at=start, **labels), now=at(start))
    if end is not None:
        resolved = webhook_alert(name, status="resolved", starts_at=start, ends_at=end, **labels)
        push(engine, resolved, now=at(end))


def alert_names(engine: Engine) -> list[str]:
    with writing_session(engine) as session:
        return sorted(str(a.labels["instance"]) for a in session.scalars(select(AlertInstance)))


def report(engine: Engine, year: int, month: int) -> dict[str, Any]:
    with writing_session(engine) as session:
        found = report_json(month_report(session, rules=RULES, year=year, month=month, now=NOW))
    found.pop("generated_at", None)
    return found


def close(engine: Engine, month: str) -> None:
    with writing_session(engine) as session:
        close_month(session, rules=RULES, month=month, services=None, actor="mia", now=NOW)


def counted(engine: Engine) -> dict[str, float]:
    with writing_session(engine) as session:
        stored = read_counters(session).get(DELETED, [])
    return {labels["table"]: value for labels, value in stored}


def test_a_closed_month_s_report_survives_the_deletion_of_its_alerts(engine: Engine) -> None:
    payments = {"service": "payments"}
    happened(
        engine,
        "InstanceDown",
        "2024-11-10T08:00:00Z",
        "2024-11-10T10:00:00Z",
        instance="outage",
        **payments,
    )
    happened(
        engine,
        "Slow",
        "2024-11-12T08:00:00Z",
        "2024-11-12T09:30:00Z",
        instance="degraded",
        severity="critical",
        **payments,
    )
    happened(
        engine,
        "Note",
        "2024-11-13T08:00:00Z",
        "2024-11-13T08:05:00Z",
        instance="info",
        severity="info",
        **payments,
    )
    # 23:00 on 30 November in Shanghai, for two hours: into December, which stays open.
    happened(
        engine,
        "InstanceDown",
        "2024-11-30T15:00:00Z",
        "2024-11-30T17:00:00Z",
        instance="spanning",
        **payments,
    )
    happened(
        engine, "Note", "2024-11-20T08:00:00Z", None, instance="firing", severity="info", **payments
    )
    close(engine, "2024-11")
    before = report(engine, 2024, 11)
    (row,) = [row for row in before["services"] if row["service"] == "payments"]
    assert row["downtime_seconds"] == 2 * 3600 + 3600  # the outage, and November's part of one

    deleted = sweep(engine, rules=RULES, retention=Retention(), now=NOW)

    assert deleted["alerts"] == 3
    assert alert_names(engine) == ["firing", "spanning"]
    assert report(engine, 2024, 11) == before
    # The ledger does not take the deletion for a change since close.
    assert watch_changes(engine, rules=RULES, now=NOW) == 0

    close(engine, "2024-12")
    assert sweep(engine, rules=RULES, retention=Retention(), now=NOW)["alerts"] == 1
    assert alert_names(engine) == ["firing"]
    assert report(engine, 2024, 11) == before
    assert counted(engine)["alerts"] == 4


def test_an_open_month_keeps_the_alerts_its_figures_need(engine: Engine) -> None:
    happened(
        engine,
        "InstanceDown",
        "2024-11-10T08:00:00Z",
        "2024-11-10T10:00:00Z",
        instance="outage",
        service="payments",
    )
    happened(
        engine,
        "Note",
        "2024-11-13T08:00:00Z",
        "2024-11-13T08:05:00Z",
        instance="info",
        severity="info",
        service="payments",
    )
    before = report(engine, 2024, 11)

    assert sweep(engine, rules=RULES, retention=Retention(), now=NOW)["alerts"] == 1

    assert alert_names(engine) == ["outage"]
    assert report(engine, 2024, 11) == before


def test_a_closed_month_the_ledger_still_watches_keeps_its_alerts(engine: Engine) -> None:
    happened(
        engine,
        "InstanceDown",
        "2026-08-10T08:00:00Z",
        "2026-08-10T10:00:00Z",
        instance="outage",
        service="payments",
    )
    close(engine, "2026-08")
    month = Retention(alerts=timedelta(days=30))

    assert sweep(engine, rules=RULES, retention=month, now=NOW)["alerts"] == 0
    assert alert_names(engine) == ["outage"]


def old_and_new_rows(engine: Engine, count: int) -> None:
    """`count` rows older than any retention and one new row, in each table kept by age."""
    old, new = NOW - timedelta(days=800), NOW - timedelta(days=1)
    with writing_session(engine) as session:
        notification = Notification(
            dedupe_key="n",
            contact="c",
            reason="r",
            payload={},
            state="sent",
            created_at=old,
            next_attempt_at=old,
        )
        session.add(notification)
        session.flush()
        for when in [old] * count + [new]:
            session.execute(
                insert(DeliveryRecord).values(
                    received_at=when, source="alertmanager", alert_count=1
                )
            )
            session.execute(
                insert(NotificationAttempt).values(
                    notification_id=notification.id, at=when, duration_seconds=0.1
                )
            )
            session.execute(
                insert(AuditEvent).values(
                    at=when, actor="mia", actor_kind="person", method="api", action="close"
                )
            )


def rows(engine: Engine, model: Any) -> int:
    with writing_session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_tables_kept_by_age_lose_what_is_past_retention_in_counted_batches(
    engine: Engine,
) -> None:
    old_and_new_rows(engine, 7)
    deleted = sweep(engine, rules=RULES, retention=Retention(batch_size=3), now=NOW)

    assert deleted == {"deliveries": 7, "alerts": 0, "notification_attempts": 7, "audit_events": 7}
    assert [rows(engine, m) for m in (DeliveryRecord, NotificationAttempt, AuditEvent)] == [1] * 3
    assert counted(engine) == {"deliveries": 7, "notification_attempts": 7, "audit_events": 7}


def test_a_table_kept_for_ever_loses_nothing(engine: Engine) -> None:
    old_and_new_rows(engine, 2)
    forever = Retention.from_days(
        deliveries=0, alerts=0, notification_attempts=0, audit_events=0, batch_size=10
    )
    assert sweep(engine, rules=RULES, retention=forever, now=NOW) == dict.fromkeys(TABLES, 0)
    assert rows(engine, AuditEvent) == 3


def test_a_sweep_asked_to_stop_ends_after_its_batch(engine: Engine) -> None:
    old_and_new_rows(engine, 10)
    batches = 0

    def after_one_batch() -> bool:
        nonlocal batches
        batches += 1
        return batches > 1

    retention = Retention(batch_size=4)
    deleted = sweep(engine, rules=RULES, retention=retention, now=NOW, until=after_one_batch)
    assert sum(deleted.values()) == 4
    assert rows(engine, DeliveryRecord) == 7


def test_the_deleted_counter_shows_every_table_from_zero_then_what_went(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    def exported() -> dict[str, float]:
        with writing_session(engine) as session:
            stored = read_counters(session)
        collector = DatabaseCounterCollector(lambda: stored, COUNTERS, HISTOGRAMS)
        (family,) = [f for f in collector.collect() if f.name == DELETED.removesuffix("_total")]
        return {s.labels["table"]: s.value for s in family.samples if s.name == DELETED}

    assert exported() == dict.fromkeys(TABLES, 0.0)
    old_and_new_rows(engine, 2)
    job = HousekeepingJob(engine, rules=lambda: RULES, clock=lambda: NOW, retention=Retention())
    caplog.set_level("INFO", logger="housekeeping.jobs")
    job()
    job()  # nothing left: no second line
    assert exported() == {
        "alerts": 0.0,
        "audit_events": 2.0,
        "deliveries": 2.0,
        "notification_attempts": 2.0,
    }
    lines = [r.getMessage() for r in caplog.records if r.name == "housekeeping.jobs"]
    assert lines == ["housekeeping deleted 2 deliveries, 2 notification_attempts, 2 audit_events"]
