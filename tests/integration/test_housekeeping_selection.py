"""Housekeeping's SQL deletes exactly the alerts `housekeeping.policy.alert_may_go` lets go,
on a varied table (seeded), and each batch's selection reads an index, on both databases."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.orm import Session

from collector.models import AlertInstance
from core.database import create_database_engine, writing_session
from housekeeping.jobs import sweep
from housekeeping.policy import AlertFacts, IncidentFacts, Retention, alert_may_go, settled_runs
from housekeeping.sweeping import Selection, alert_selections, dated_selection
from incident.models import Incident
from ledger.models import MonthRecord
from tests.conftest import FIXTURES
from tests.integration.test_housekeeping import RULES

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
RETENTION = Retention(alerts=timedelta(days=600), batch_size=5)
SERVICES = ["payments", "checkout"]  # Asia/Shanghai, Europe/Berlin
MONTHS = [f"{y}-{m:02d}" for y in (2023, 2024, 2025) for m in range(1, 13)][9:28]
EXAMPLE = FIXTURES / "example_rules.yaml"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_database_engine(database_url)
    yield engine
    engine.dispose()


def moment(rng: random.Random) -> datetime:
    start = datetime(2023, 10, 1, tzinfo=UTC)
    return start + timedelta(minutes=rng.randrange(0, 560 * 24 * 60))


def incident_row(rng: random.Random, number: int) -> dict[str, Any]:
    started = moment(rng)
    resolved = started + timedelta(hours=rng.choice([1, 50, 900])) if rng.random() < 0.8 else None
    return {
        "id": number,
        "title": "t",
        "service": rng.choice(SERVICES),
        "priority": "P1",
        "category": "other",
        "impact": "outage",
        "state": "resolved" if resolved else "open",
        "source": "alert",
        "group_key": f"g{number}",
        "started_at": started,
        "opened_at": started,
        "resolved_at": resolved,
        "response_breached": False,
        "resolution_breached": False,
        "flap_count": 0,
        "updated_at": started,
    }


def alert_row(rng: random.Random, number: int, incidents: list[dict[str, Any]]) -> dict[str, Any]:
    firing = rng.random() < 0.1
    incident = rng.choice([*[None] * 30, 999_999, *incidents])
    service = rng.choice([*SERVICES, None])
    if isinstance(incident, dict):
        # Within its incident, mostly: an incident's alerts fire while it is open.
        span = (incident["resolved_at"] or NOW) - incident["started_at"]
        starts = incident["started_at"] + span * rng.uniform(-0.1, 1.0)
        service = incident["service"] if rng.random() < 0.8 else service
    else:
        starts = moment(rng)
    return {
        "fingerprint": f"{number:016x}",
        "starts_at": starts,
        "ends_at": None if firing else starts + timedelta(hours=rng.choice([0, 1, 30, 700])),
        "status": "firing" if firing else "resolved",
        "labels": {},
        "annotations": {},
        "source": "alertmanager",
        "receive_count": 1,
        "first_received_at": starts,
        "last_received_at": starts,
        "service": service,
        "impact": rng.choice(["outage", "degraded", "none", None]),
        "incident_id": incident["id"] if isinstance(incident, dict) else incident,
    }


def month_rows(rng: random.Random) -> list[dict[str, Any]]:
    found = []
    for service in SERVICES:
        for month in MONTHS:
            if rng.random() < 0.7:
                reopened = NOW if rng.random() < 0.15 else None
                found.append(
                    {
                        "month": month,
                        "service": service,
                        "version": 1,
                        "figures": {},
                        "digest": "d",
                        "rules_digest": "r",
                        "closed_at": NOW,
                        "closed_by": "mia",
                        "reopened_at": reopened,
                    }
                )
    return found


def facts(alert: dict[str, Any], incidents: dict[int, dict[str, Any]]) -> AlertFacts:
    incident = incidents.get(alert["incident_id"])
    return AlertFacts(
        status=alert["status"],
        impact=alert["impact"],
        service=alert["service"],
        starts_at=alert["starts_at"],
        ends_at=alert["ends_at"],
        incident_id=alert["incident_id"],
        incident=IncidentFacts(incident["service"], incident["started_at"], incident["resolved_at"])
        if incident
        else None,
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_the_sql_deletes_exactly_the_alerts_the_policy_lets_go(engine: Engine, seed: int) -> None:
    rng = random.Random(seed)
    incidents = [incident_row(rng, number) for number in range(1, 40)]
    alerts = [alert_row(rng, number, incidents) for number in range(400)]
    records = month_rows(rng)
    with writing_session(engine) as session:
        session.execute(insert(Incident), incidents)
        session.execute(insert(AlertInstance), alerts)
        session.execute(insert(MonthRecord), records)
    settled: dict[str, set[str]] = {}
    for record in records:
        if record["reopened_at"] is None:
            settled.setdefault(record["service"], set()).add(record["month"])
    by_id = {row["id"]: row for row in incidents}
    expected = {
        alert["fingerprint"]
        for alert in alerts
        if alert_may_go(
            facts(alert, by_id),
            now=NOW,
            retention=RETENTION,
            settled=settled,
            zone_of=lambda name: RULES.service(name).timezone,
        )
    }
    with writing_session(engine) as session:
        before = set(session.scalars(select(AlertInstance.fingerprint)))

    deleted = sweep(engine, rules=RULES, retention=RETENTION, now=NOW)

    with writing_session(engine) as session:
        after = set(session.scalars(select(AlertInstance.fingerprint)))
    assert 40 < len(expected) < 300  # a varied sample: many go, many stay
    assert before - after == expected
    assert deleted["alerts"] == len(expected)


def plan(session: Session, selection: Selection) -> str:
    compiled = selection.limit(100).compile(dialect=session.get_bind().dialect)
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        rows = connection.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params).all()
    else:
        values = tuple(compiled.params[name] for name in compiled.positiontup or ())
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", values).all()
    return "\n".join(str(row[-1]) for row in rows)


def test_every_selection_reads_an_index(engine: Engine) -> None:
    cutoff = NOW - timedelta(days=30)
    (run,) = settled_runs("payments", {"2024-11"}, RULES.service("payments").timezone)
    uncounted, counted = alert_selections(cutoff, [run])
    # Each selection and the indexes that serve it: a counted alert's month is also an
    # `ends_at` range of the index availability reads its windows through (0013), which the
    # planner may prefer; either is an index read, not a scan of every alert.
    expected = {
        ("ix_deliveries_received_at",): dated_selection("deliveries", cutoff),
        ("ix_notification_attempts_at",): dated_selection("notification_attempts", cutoff),
        ("ix_audit_events_at",): dated_selection("audit_events", cutoff),
        ("ix_alerts_housekeeping_uncounted",): uncounted,
        ("ix_alerts_housekeeping_counted", "ix_alerts_impact_windows"): counted,
    }
    with writing_session(engine) as session:
        if engine.dialect.name == "postgresql":
            # On empty tables a scan costs nothing: show which index the planner can use.
            session.execute(text("SET LOCAL enable_seqscan = off"))
        for indexes, selection in expected.items():
            shown = plan(session, selection)
            assert any(index in shown for index in indexes), shown
