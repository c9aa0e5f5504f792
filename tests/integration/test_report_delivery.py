"""The monthly report delivered, on SQLite and PostgreSQL: closing a month queues one
delivery per recipient of the rule file's `report:`, the sender e-mails the PDF through a
real SMTP server (STARTTLS, login) and posts the JSON to a webhook on loopback; a failing
receiver is tried again until it takes the report; the schedule queues the previous month
once however many replicas run it; the scheduler's jobs send and watch closed months.

The example rule file puts `payments` in Asia/Shanghai; the clock stands on 3 December
09:00 UTC, so November is over everywhere.
"""

from __future__ import annotations

import base64
import logging
import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

import ledger.sending
from access.roles import Role
from availability.compliance import ComplianceReport
from availability.report_response import ReportFile, report_file
from core.counters import read_counters
from core.database import create_database_engine, writing_session
from ledger.delivery import REPORT_DELIVERIES
from ledger.models import PendingChange, ReportDelivery
from ledger.sending import ReportOutbound, send_due_reports
from oncall.channels.email import SmtpSettings
from rules.policy import RuleFile
from slakeeper.scheduler import Intervals, JobScheduler
from tests.conftest import FIXTURES, missing
from tests.integration.chat_receivers import MailReceiver
from tests.integration.conftest import AppFactory, Clock
from tests.integration.payloads import webhook_alert, webhook_with
from tests.integration.people import Person, add_account
from tests.integration.receiver import WebhookReceiver
from tests.integration.test_scheduler import eventually

MONTH = "/api/v1/months/2026-11"
CONSOLE = "https://slakeeper.example"
SMTP_USER, SMTP_PASSWORD = "slakeeper", "report pass word"
TOKEN = "s3cr3t-hook-token"


@dataclass
class Setup:
    api: TestClient
    engine: Engine
    receiver: WebhookReceiver
    rules: RuleFile


def rule_text(*recipients: str, attach: str = "pdf") -> str:
    listed = ", ".join(f'"{recipient}"' for recipient in recipients)
    section = f"report:\n  recipients: [{listed}]\n  lang: zh-CN\n  attach: {attach}\n"
    return (FIXTURES / "example_rules.yaml").read_text() + "\n" + section


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def manager(database_url: str) -> Person:
    return add_account(database_url, "mia", Role.MANAGER)


Launch = Callable[[str], Setup]


@pytest.fixture
def launch(
    make_app: AppFactory, clock: Clock, manager: Person, receiver: WebhookReceiver, tmp_path: Path
) -> Iterator[Launch]:
    """`launch(rule_text)`: the app on this test's database with that rule file, a manager's
    client on it, and an engine; closed after the test."""
    clock.now = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    with ExitStack() as stack:

        def build(text: str) -> Setup:
            path = tmp_path / "rules.yaml"
            path.write_text(text)
            app = make_app(rules=path)
            engine = create_database_engine(app.state.settings.database_url)
            stack.callback(engine.dispose)
            api = stack.enter_context(TestClient(app, headers=manager.headers))
            return Setup(api, engine, receiver, app.state.rules.current)

        yield build


def close(api: TestClient) -> str:
    """Close November for every service; the month's digest."""
    closed = api.post(f"{MONTH}/close", json={})
    assert closed.status_code == 200, closed.text
    digest: str = api.get(MONTH).json()["digest"]
    return digest


def deliveries(engine: Engine) -> list[ReportDelivery]:
    with writing_session(engine) as session:
        query = select(ReportDelivery).order_by(ReportDelivery.id)
        return list(session.scalars(query))


def counted(engine: Engine) -> dict[str, float]:
    with writing_session(engine) as session:
        return {
            labels["outcome"]: value
            for labels, value in read_counters(session).get(REPORT_DELIVERIES, [])
        }


def pdf_text(content: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(content)
    try:
        done = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True)
    except FileNotFoundError:
        missing("pdftotext (poppler-utils) is not installed")
    return "".join(done.stdout.decode().split())  # a long digest may be wrapped


@pytest.fixture
def mail(tmp_path: Path) -> Iterator[MailReceiver]:
    with MailReceiver(tmp_path, user=SMTP_USER, password=SMTP_PASSWORD) as mail:
        yield mail


def smtp_of(mail: MailReceiver) -> SmtpSettings:
    return SmtpSettings(
        host=mail.host,
        port=mail.port,
        security="starttls",
        username=SMTP_USER,
        password=SMTP_PASSWORD,
        sender="slakeeper@ops.example",
        ca_file=mail.ca_file,
    )


def close_again_queues_nothing(setup: Setup) -> bool:
    """A second close of the same services is refused, and queues nothing more."""
    again = setup.api.post(f"{MONTH}/close", json={})
    return again.status_code == 409 and len(deliveries(setup.engine)) == 2


def test_a_closed_month_is_emailed_as_a_pdf_and_posted_to_a_webhook(
    launch: Launch,
    clock: Clock,
    receiver: WebhookReceiver,
    mail: MailReceiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = rule_text("mailto:sla@customer.example", f"{receiver.url}/sla")
    setup = launch(text)
    digest = close(setup.api)

    queued = deliveries(setup.engine)
    assert [(d.trigger, d.state, d.lang, d.digest) for d in queued] == [
        ("close", "pending", "zh-CN", digest)
    ] * 2
    assert {d.recipient for d in queued} == {"mailto:sla@customer.example", f"{receiver.url}/sla"}
    assert close_again_queues_nothing(setup)

    renders: list[dict[str, Any]] = []

    def counting(report: ComplianceReport, **options: Any) -> ReportFile:
        renders.append(options)
        return report_file(report, **options)

    monkeypatch.setattr(ledger.sending, "report_file", counting)
    with httpx.Client(timeout=10) as client:
        outbound = ReportOutbound(client, smtp_of(mail), CONSOLE, "chromium")
        assert (
            send_due_reports(
                setup.engine, rules=setup.rules, outbound=outbound, now=clock.now, limit=5
            )
            == 2
        )
    assert len(renders) == 1  # one PDF for both recipients

    (received,) = mail.received
    assert received.rcpt_tos == ("sla@customer.example",) and received.login == SMTP_USER
    message = received.message
    assert message["Subject"].startswith("2026-11 可用性报告")
    body = message.get_body(("plain",))
    assert body is not None and digest in body.get_content() and "本月已关账" in body.get_content()
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    pdf = attachment.get_content()
    assert pdf.startswith(b"%PDF") and digest in pdf_text(pdf, tmp_path)

    (posted,) = setup.receiver.received
    assert posted.path == "/sla"
    assert posted.body["month"] == "2026-11" and posted.body["digest"] == digest
    assert posted.body["state"] == "closed" and posted.body["lang"] == "zh-CN"
    assert posted.body["link"] == (
        f"{CONSOLE}/api/v1/reports/availability?month=2026-11&format=pdf&lang=zh-CN"
    )
    assert 0 < posted.body["summary"]["availability_ratio"] <= 1
    assert base64.b64decode(posted.body["attachment"]["base64"]) == pdf
    assert posted.headers["Idempotency-Key"] == queued[1].key

    assert [(d.state, d.attempts, d.digest) for d in deliveries(setup.engine)] == [
        ("sent", 1, digest)
    ] * 2
    assert counted(setup.engine)["sent"] == 2


def test_a_failing_webhook_is_retried_with_back_off_until_it_takes_the_report(
    launch: Launch, clock: Clock, receiver: WebhookReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    text = rule_text(f"{receiver.url}/hooks/{TOKEN}", attach="html")
    setup = launch(text)
    digest = close(setup.api)
    receiver.fail_next(503)
    with httpx.Client(timeout=10) as client:
        outbound = ReportOutbound(client, None, CONSOLE)

        def send() -> int:
            return send_due_reports(
                setup.engine, rules=setup.rules, outbound=outbound, now=clock.now, limit=5
            )

        with caplog.at_level(logging.WARNING, logger="ledger.sending"):
            assert send() == 1
        (failed,) = deliveries(setup.engine)
        assert (failed.state, failed.attempts) == ("pending", 1)
        assert failed.last_error == "ChannelRefused: HTTP 503: ok"
        assert failed.next_attempt_at == clock.now + timedelta(seconds=10)
        assert "report delivery" in caplog.text and TOKEN not in caplog.text
        assert counted(setup.engine)["error"] == 1

        assert send() == 0  # not due before its back-off
        clock.advance(seconds=11)
        assert send() == 1

    (sent,) = deliveries(setup.engine)
    assert (sent.state, sent.attempts, sent.last_error, sent.digest) == ("sent", 2, None, digest)
    first, second = setup.receiver.received
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"] == sent.key
    assert second.body["attachment"]["media_type"] == "text/html; charset=utf-8"
    assert counted(setup.engine) == {"error": 1, "sent": 1}


def test_the_schedule_queues_the_previous_month_once_across_replicas(
    launch: Launch, clock: Clock, receiver: WebhookReceiver
) -> None:
    text = rule_text("mailto:sla@customer.example", f"{receiver.url}/sla", attach="html")
    text = text.replace("  attach: html\n", '  attach: html\n  schedule: "0 9 3 * *"\n')
    setup = launch(text)
    # 3 December 09:00:20 in Shanghai: the run of 09:00, seen late by the second replica.
    clock.now = datetime(2026, 12, 3, 1, 0, 5, tzinfo=UTC)
    replicas = [
        JobScheduler(setup.engine, rules=lambda: setup.rules, clock=clock) for _ in range(2)
    ]
    try:
        for replica in replicas:
            replica._ledger.queue_scheduled_reports()
            clock.advance(seconds=15)
        queued = deliveries(setup.engine)
        assert [(d.month, d.trigger, d.digest, d.created_by) for d in queued] == [
            ("2026-11", "schedule", None, "scheduler")
        ] * 2

        clock.now = datetime(2027, 1, 3, 1, 0, 30, tzinfo=UTC)  # the next run
        replicas[1]._ledger.queue_scheduled_reports()
        assert (
            sorted(d.month for d in deliveries(setup.engine)) == ["2026-11"] * 2 + ["2026-12"] * 2
        )
    finally:
        for replica in replicas:
            replica.shutdown()


def test_the_scheduler_sends_the_report_and_watches_the_closed_month(
    launch: Launch, clock: Clock, receiver: WebhookReceiver
) -> None:
    text = rule_text(f"{receiver.url}/sla", attach="html")
    setup = launch(text)
    close(setup.api)
    late = late_outage()
    assert setup.api.post("/api/v1/webhooks/alertmanager", json=late).status_code == 200

    # Every job runs once when the scheduler starts, then not again within the test.
    hourly = Intervals(**dict.fromkeys(("sla", "outbox", "reports", "watch"), timedelta(hours=1)))
    scheduler = JobScheduler(setup.engine, rules=lambda: setup.rules, clock=clock, intervals=hourly)
    assert {"reports", "watch"} <= set(scheduler.job_ids)
    scheduler.start()
    try:
        eventually(lambda: len(setup.receiver.received) == 1, "the report to be posted")
        eventually(lambda: pending_changes(setup.engine) == 1, "the change since close")
    finally:
        scheduler.shutdown()
    assert scheduler.failures.get("reports") == scheduler.failures.get("watch") == 0


def late_outage() -> dict[str, Any]:
    return webhook_with(
        webhook_alert(
            "InstanceDown",
            status="resolved",
            starts_at="2026-11-20T08:00:00Z",
            ends_at="2026-11-20T08:10:00Z",
            service="payments",
        )
    )


def pending_changes(engine: Engine) -> int:
    with engine.connect() as connection:
        query = select(func.count()).select_from(PendingChange)
        return int(connection.execute(query).scalar_one())
