"""Reaching the person on call: an incident's messages go to the rotation's person on shift,
on every channel of the contact (local receivers that check each service's format and
signature, and a real SMTP server), in their language, in order even after a failure; the
link in a message acknowledges the incident as that person, once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from access.roles import Role
from core.counters import read_counters
from core.database import create_database_engine, writing_session
from incident.jobs import run_sla_checks
from incident.models import IncidentEvent, NotificationAttempt
from oncall.channels.email import SmtpSettings
from oncall.delivery import Delivery, Outbound, Transport, send_due
from rules.loader import load_rule_file
from tests.integration.chat_receivers import (
    DingTalkRobot,
    FeishuBot,
    JsonWebhook,
    MailReceiver,
    SlackWebhook,
    WeComRobot,
)
from tests.integration.conftest import AppFactory, Clock
from tests.integration.people import Person, add_account

DINGTALK_SECRET = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
FEISHU_SECRET = "feishu-bot-secret"
SMTP_USER, SMTP_PASSWORD = "slakeeper", "smtp pass word"
CONSOLE = "https://noc.example.org"


@dataclass
class Receivers:
    dingtalk: DingTalkRobot
    wecom: WeComRobot
    feishu: FeishuBot
    slack: SlackWebhook
    hook: JsonWebhook
    mail: MailReceiver


@pytest.fixture
def receivers(tmp_path: Path, clock: Clock) -> Iterator[Receivers]:
    # The robots check a signature's timestamp against their own clock: the test's.
    def now() -> float:
        return clock().timestamp()

    with (
        DingTalkRobot(secret=DINGTALK_SECRET, clock=now) as dingtalk,
        WeComRobot() as wecom,
        FeishuBot(secret=FEISHU_SECRET, clock=now) as feishu,
        SlackWebhook() as slack,
        JsonWebhook() as hook,
        MailReceiver(tmp_path, user=SMTP_USER, password=SMTP_PASSWORD) as mail,
    ):
        yield Receivers(dingtalk, wecom, feishu, slack, hook, mail)


@pytest.fixture
def rules_file(tmp_path: Path, receivers: Receivers, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TEST_DINGTALK_SECRET", DINGTALK_SECRET)
    path = tmp_path / "rules.yaml"
    path.write_text(
        f"""
timezone: Asia/Shanghai
levels:
  info: {{open_incident: false}}
  warning: {{notify: [on-duty]}}
  critical: {{notify: [on-duty]}}
escalation:
  P1: [{{after: 10m, notify: on-duty}}]
channels:
  dingtalk: {{type: dingtalk, url: '{receivers.dingtalk.url}', secret: '${{TEST_DINGTALK_SECRET}}'}}
  wecom: {{type: wecom, url: '{receivers.wecom.url}'}}
  feishu: {{type: feishu, url: '{receivers.feishu.url}', secret: '{FEISHU_SECRET}'}}
  slack: {{type: slack, url: '{receivers.slack.url}'}}
  hook: {{type: webhook, url: '{receivers.hook.url}', headers: {{X-Team: noc}}}}
  mail: {{type: email, to: [noc@example.com]}}
rotations:
  noc:
    layers:
      - participants: [ana, bo]
        shift: 12h
        handoff: '2026-11-02T09:00'
contacts:
  on-duty: {{rotation: noc, channels: [dingtalk, wecom, feishu, slack, hook, mail]}}
"""
    )
    return path


@pytest.fixture
def people(database_url: str, make_app: AppFactory, rules_file: Path) -> dict[str, Person]:
    found = {
        "ana": add_account(database_url, "ana", Role.OPERATOR),
        "bo": add_account(database_url, "bo", Role.OPERATOR),
        "vic": add_account(database_url, "vic", Role.VIEWER),
        "root": add_account(database_url, "root", Role.ADMIN),
    }
    profiles = {
        "ana": {
            "language": "zh-CN",
            "timezone": "Asia/Shanghai",
            "phone": "+86 138 0013 8000",
            "email": "ana@example.com",
            "chat_ids": {"feishu": "ou_ana", "slack": "U0ANA", "wecom": "ana.wang"},
        },
        "bo": {"language": "en", "email": "bo@example.com", "phone": "13900139000"},
        "vic": {"language": "en", "email": "vic@example.com"},
    }
    with TestClient(make_app(rules=rules_file)) as api:
        for name, profile in profiles.items():
            changed = api.patch(
                f"/api/v1/users/{name}", json=profile, headers=found["root"].headers
            )
            assert changed.status_code == 200, changed.text
    return found


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_database_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def deliver(engine: Engine, rules_file: Path, receivers: Receivers, clock: Clock) -> Iterator[Any]:
    rules = load_rule_file(rules_file)
    smtp = SmtpSettings(
        host=receivers.mail.host,
        port=receivers.mail.port,
        security="starttls",
        username=SMTP_USER,
        password=SMTP_PASSWORD,
        sender="slakeeper@noc.example.org",
        ca_file=receivers.mail.ca_file,
    )
    outbound = Outbound(smtp=smtp, public_url=CONSOLE, default_zone="Asia/Shanghai")
    with httpx.Client(timeout=5) as client:

        def send() -> Delivery:
            """One round of the sender (the oldest waiting message of each stream)."""
            return send_due(
                engine, rules=rules, transport=Transport(client, outbound), now=clock(), limit=10
            )

        yield send


def report(api: TestClient, person: Person, title: str = "Card payments fail") -> int:
    made = api.post(
        "/api/v1/incidents",
        json={
            "title": title,
            "service": "payments",
            "priority": "P1",
            "level": "critical",
            "reporter": "Li Wei",
            "channel": "phone",
        },
        headers=person.headers,
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def ack_link(receivers: Receivers) -> str:
    text = plain(receivers.mail.received[-1].message)
    found = re.search(re.escape(CONSOLE) + r"(/ack/\S+)", text)
    assert found is not None, text
    return found[1]


def plain(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def timeline(engine: Engine, incident: int, kind: str) -> list[Any]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                select(IncidentEvent)
                .where(IncidentEvent.incident_id == incident, IncidentEvent.kind == kind)
                .order_by(IncidentEvent.id)
            )
        )


def test_the_person_on_shift_is_reached_on_every_channel_in_their_language(
    make_app: AppFactory,
    rules_file: Path,
    people: dict[str, Person],
    receivers: Receivers,
    deliver: Any,
    engine: Engine,
    clock: Clock,
) -> None:
    clock.advance(hours=2)  # 09:00 in Shanghai: ana's day shift begins
    with TestClient(make_app(rules=rules_file)) as api:
        incident = report(api, people["root"])
    done = deliver()
    assert done.messages == 1 and all(attempt.ok for attempt in done.attempts)
    assert {attempt.person for attempt in done.attempts} == {"ana"}
    for robot in (receivers.dingtalk, receivers.wecom, receivers.feishu, receivers.slack):
        [taken] = robot.taken
        assert "Card payments fail" in str(taken.request.body)
    dingtalk = receivers.dingtalk.taken[0]
    assert dingtalk.verdict.mentioned == ("13800138000",)
    assert dingtalk.request.body["markdown"]["title"].startswith("【P1】新事件：payments")
    assert "响应截止" in dingtalk.request.body["markdown"]["text"]
    assert receivers.feishu.taken[0].verdict.mentioned == ("ou_ana",)
    assert receivers.slack.taken[0].verdict.mentioned == ("U0ANA",)
    hook = receivers.hook.taken[0].request
    assert hook.headers["x-team"] == "noc" and hook.body["person"] == "ana"
    assert hook.body["reason"] == "opened" and hook.body["incident"]["id"] == incident
    [mail] = receivers.mail.received
    assert mail.encrypted and mail.login == SMTP_USER
    assert set(mail.rcpt_tos) == {"ana@example.com", "noc@example.com"}
    assert mail.message["Subject"] == "【P1】新事件：payments — Card payments fail"
    assert "2026-11-22 09:00 CST" in plain(mail.message)
    notified = timeline(engine, incident, "notified")
    assert sorted(event.after["channel"] for event in notified) == [
        "dingtalk",
        "feishu",
        "hook",
        "mail",
        "slack",
        "wecom",
    ]
    assert {event.after["person"] for event in notified} == {"ana"}
    with writing_session(engine) as session:
        counted = read_counters(session)["slakeeper_notifications_sent_total"]
    sent = {labels["channel"]: value for labels, value in counted}
    assert sent == {"dingtalk": 1, "wecom": 1, "feishu": 1, "slack": 1, "webhook": 1, "email": 1}


def test_the_link_in_a_message_acknowledges_as_its_person_once(
    make_app: AppFactory,
    rules_file: Path,
    people: dict[str, Person],
    receivers: Receivers,
    deliver: Any,
    engine: Engine,
    clock: Clock,
) -> None:
    clock.advance(hours=2)  # ana's shift
    with TestClient(make_app(rules=rules_file, host="0.0.0.0")) as api:
        incident = report(api, people["root"])
        deliver()
        link = ack_link(receivers)
        page = api.get(link)  # no session: the link is the credential
        assert page.status_code == 200 and "Card payments fail" in page.text
        assert "以 ana 的身份确认" in page.text  # ana reads Chinese
        english = api.get(link, params={"lang": "en"})  # the page's language switch
        assert english.status_code == 200 and "Acknowledge it as ana?" in english.text
        clock.advance(minutes=4)
        done = api.post(link, data={"note": "从钉钉确认"})
        assert done.status_code == 200, done.text
        state = api.get(f"/api/v1/incidents/{incident}", headers=people["vic"].headers).json()
        assert (state["state"], state["acknowledged_by"]) == ("acknowledged", "ana")
        assert state["response_seconds"] == 240
        [acked] = timeline(engine, incident, "acknowledged")
        assert (acked.actor, acked.note) == ("ana", "从钉钉确认")
        again = api.post(link)
        assert again.status_code == 409 and "used already" in again.text
        tampered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
        assert api.get(tampered).status_code == 403
        assert api.post(tampered).status_code == 403
        audit = api.get("/api/v1/audit", headers=people["root"].headers).json()["items"]
        ack = next(item for item in audit if item["action"] == "incident.ack")
        assert (ack["actor"], ack["method"]) == ("ana", "ack-link")


def test_an_expired_link_and_a_link_for_a_viewer_acknowledge_nothing(
    make_app: AppFactory,
    rules_file: Path,
    people: dict[str, Person],
    receivers: Receivers,
    deliver: Any,
    clock: Clock,
) -> None:
    clock.advance(hours=2)
    with TestClient(make_app(rules=rules_file, host="0.0.0.0")) as api:
        late = report(api, people["root"], "Late one")
        deliver()
        link = ack_link(receivers)
        clock.advance(hours=24, seconds=1)
        assert api.post(link).status_code == 410
        # vic (a viewer) covers the rotation: the message reaches vic, whose link may not ack.
        cover = {
            "person": "vic",
            "start": clock().isoformat(),
            "end": (clock() + timedelta(hours=1)).isoformat(),
        }
        made = api.post(
            "/api/v1/rotations/noc/overrides", json=cover, headers=people["ana"].headers
        )
        assert made.status_code == 201, made.text
        viewer_incident = report(api, people["root"], "For the viewer")
        deliver()
        assert receivers.mail.received[-1].rcpt_tos[0] == "vic@example.com"
        refused = api.post(ack_link(receivers))
        assert refused.status_code == 403 and "operator role" in refused.text
        for incident in (late, viewer_incident):
            state = api.get(f"/api/v1/incidents/{incident}", headers=people["vic"].headers)
            assert state.json()["state"] == "open"


def test_messages_of_an_incident_arrive_in_order_after_a_failure(
    make_app: AppFactory,
    rules_file: Path,
    people: dict[str, Person],
    receivers: Receivers,
    deliver: Any,
    engine: Engine,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock.advance(hours=2)
    rules = load_rule_file(rules_file)
    with TestClient(make_app(rules=rules_file)) as api:
        incident = report(api, people["root"])
    receivers.dingtalk.fail_next(2)
    with caplog.at_level("WARNING", logger="oncall.delivery"):
        first = deliver()  # opened: taken everywhere but DingTalk
    assert [a.channel for a in first.attempts if not a.ok] == ["dingtalk"]
    [warning] = [r for r in caplog.records if r.name == "oncall.delivery"]
    said = warning.getMessage()
    assert warning.levelname == "WARNING"
    assert "contact on-duty on channel dingtalk (dingtalk)" in said and "HTTP 500" in said
    assert "access_token" not in said and receivers.dingtalk.url not in said
    clock.advance(minutes=10)
    assert run_sla_checks(engine, rules=lambda: rules, clock=clock) == (0, 1)  # escalation
    second = deliver()  # opened again (DingTalk only), failing again; the escalation waits
    assert [(a.channel, a.ok) for a in second.attempts] == [("dingtalk", False)]
    clock.advance(seconds=5)
    assert deliver().messages == 0  # the escalation is due, but waits for the opened
    clock.advance(seconds=30)
    assert [(a.channel, a.ok) for a in deliver().attempts] == [("dingtalk", True)]
    assert len(deliver().attempts) == 6  # now the escalation, on every channel
    kinds = [exchange.request.body["markdown"]["title"] for exchange in receivers.dingtalk.taken]
    assert ["新事件" in kinds[0], "升级第 1 步" in kinds[1]] == [True, True]
    assert [mail.message["Subject"].split("：")[0] for mail in receivers.mail.received] == [
        "【P1】新事件",
        "【P1】升级第 1 步",
    ]
    with engine.connect() as connection:
        failed = connection.execute(
            select(NotificationAttempt.channel, NotificationAttempt.status_code).where(
                NotificationAttempt.error.is_not(None)
            )
        )
        assert list(failed) == [("dingtalk", 500), ("dingtalk", 500)]
    assert incident > 0


def test_whoever_heard_of_an_incident_hears_it_resolved_and_closed(
    make_app: AppFactory,
    rules_file: Path,
    people: dict[str, Person],
    receivers: Receivers,
    deliver: Any,
    clock: Clock,
) -> None:
    with TestClient(make_app(rules=rules_file)) as api:
        incident = report(api, people["root"])  # 07:00 in Shanghai: bo's night shift
        deliver()
        clock.advance(hours=2, minutes=30)  # ana's shift now
        action = f"/api/v1/incidents/{incident}"
        assert api.post(f"{action}/resolve", json={}, headers=people["bo"].headers).is_success
        closed = api.post(
            f"{action}/close", json={"confirmed_by": "Li Wei"}, headers=people["ana"].headers
        )
        assert closed.is_success
        while deliver().messages:  # as the sender job does: a stream, one after another
            pass
    reasons = [(e.request.body["reason"], e.request.body["person"]) for e in receivers.hook.taken]
    # Resolved 2.5 h after opening, never acknowledged: the response target (1 h) was missed.
    assert reasons == [
        ("opened", "bo"),
        ("breach", "ana"),
        ("resolved", "ana"),
        ("closed", "ana"),
    ]
    subjects = [mail.message["Subject"] for mail in receivers.mail.received]
    assert subjects[0].startswith("[P1] Opened: payments")  # bo reads English
    assert subjects[1].startswith("【P1】响应超时：payments")
    assert subjects[2].startswith("【P1】已解决：payments")
    assert subjects[3].startswith("【P1】已关闭：payments")
    closing = plain(receivers.mail.received[3].message)
    assert "确认人: Li Wei" in closing and "/ack/" not in closing
