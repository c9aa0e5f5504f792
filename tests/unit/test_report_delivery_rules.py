"""The rule file's `report:` section, its schedule read as cron reads it, and the words that
go with a delivered report."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from availability.compliance import ComplianceReport, SignedMonth
from ledger.cover_letter import cover_of, report_link
from ledger.delivery import latest_run
from rules.loader import RuleFileError, parse_rule_text
from rules.policy import RuleFile
from slakeeper.ledger_jobs import CrontabTrigger

SHANGHAI = ZoneInfo("Asia/Shanghai")
DIGEST = "5f" * 32


def parse(text: str) -> RuleFile:
    return parse_rule_text(textwrap.dedent(text), source="test.yaml")


def problems(text: str) -> list[str]:
    with pytest.raises(RuleFileError) as caught:
        parse(text)
    return [problem.format("test.yaml") for problem in caught.value.problems]


def test_a_rule_file_without_a_report_section_sends_no_report() -> None:
    report = parse("services: []\n").spec.report
    assert report.recipients == [] and report.schedule is None
    assert (report.lang, report.attach) == ("en", "pdf")


def test_a_report_section_names_e_mail_and_webhook_recipients_and_a_schedule() -> None:
    report = parse(
        """
        report:
          recipients: ["mailto:sla@customer.example", "https://hooks.example/sla"]
          lang: zh-CN
          schedule: "0 9 3 * *"
          attach: html
        """
    ).spec.report
    assert report.recipients == ["mailto:sla@customer.example", "https://hooks.example/sla"]
    assert (report.lang, report.schedule, report.attach) == ("zh-CN", "0 9 3 * *", "html")


def test_every_problem_of_a_report_section_is_reported_with_its_line() -> None:
    found = problems(
        """
        report:
          recipients: ["sla@customer.example", "ftp://files.example/x", "mailto:nobody"]
          lang: fr
          schedule: "0 9 3 * * 5"
          attach: docx
          cc: []
        """
    )
    assert found == [
        "test.yaml:3: report.recipients[0]: invalid recipient 'sla@customer.example': "
        "expected mailto:ADDRESS or an http(s):// URL",
        "test.yaml:3: report.recipients[1]: invalid recipient 'ftp://files.example/x': "
        "expected mailto:ADDRESS or an http(s):// URL",
        "test.yaml:3: report.recipients[2]: invalid recipient 'mailto:nobody': "
        "expected mailto:ADDRESS or an http(s):// URL",
        "test.yaml:4: report.lang: Input should be 'en' or 'zh-CN' (got 'fr')",
        "test.yaml:5: report.schedule: invalid schedule '0 9 3 * * 5': expected five cron "
        "fields, e.g. 0 9 3 * *",
        "test.yaml:6: report.attach: Input should be 'pdf' or 'html' (got 'docx')",
        "test.yaml:7: report.cc: unknown key 'cc'; expected one of: recipients, lang, "
        "schedule, attach",
    ]


def test_a_schedule_is_checked_by_the_cron_validator() -> None:
    (found,) = problems('report: {schedule: "0 25 3 * *"}\n')
    assert "report.schedule: invalid cron expression '0 25 3 * *'" in found


def test_a_recipient_listed_twice_is_an_error() -> None:
    (found,) = problems('report: {recipients: ["mailto:a@b.example", "mailto:a@b.example"]}\n')
    assert found.endswith("report: a recipient is listed twice")


def test_a_webhook_token_comes_from_the_environment_and_never_shows_in_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLA_HOOK_TOKEN", "t0k3n")
    text = 'report: {recipients: ["https://hooks.example/sla/${SLA_HOOK_TOKEN}"]}\n'
    assert parse(text).spec.report.recipients == ["https://hooks.example/sla/t0k3n"]
    (found,) = problems('report: {recipients: ["https ://hooks.example/x?token=t0k3n"]}\n')
    assert "t0k3n" not in found
    monkeypatch.delenv("SLA_HOOK_TOKEN")
    (found,) = problems(text)
    assert found.endswith("environment variable SLA_HOOK_TOKEN is not set")


def test_the_schedule_fires_as_cron_reads_it_in_the_rule_files_zone() -> None:
    # Sunday is 0 for cron (APScheduler 3's own CronTrigger would take Monday).
    trigger = CrontabTrigger("0 9 * * 0", SHANGHAI)
    following = trigger.get_next_fire_time(None, datetime(2026, 12, 3, tzinfo=UTC))
    assert following == datetime(2026, 12, 6, 9, 0, tzinfo=SHANGHAI)
    assert trigger.get_next_fire_time(following, following) == datetime(
        2026, 12, 13, 9, 0, tzinfo=SHANGHAI
    )


def test_the_latest_run_is_the_scheduled_time_at_or_before_now() -> None:
    run = datetime(2026, 12, 3, 9, 0, tzinfo=SHANGHAI)
    assert latest_run("0 9 3 * *", SHANGHAI, run) == run
    assert latest_run("0 9 3 * *", SHANGHAI, run.replace(minute=20)) == run
    assert latest_run("0 9 3 * *", SHANGHAI, run.replace(hour=8)) == run.replace(month=11)


def report(state: str, digest: str | None) -> ComplianceReport:
    empty = pd.DataFrame()
    return ComplianceReport(
        month="2026-11",
        timezone="Asia/Shanghai",
        start=datetime(2026, 10, 31, 16, tzinfo=UTC),
        end=datetime(2026, 11, 30, 16, tzinfo=UTC),
        generated_at=datetime(2026, 12, 3, 9, tzinfo=UTC),
        services=empty,
        priorities=empty,
        downtime_by_day=empty,
        breaches=empty,
        summary={
            "availability_ratio": 0.99958,
            "services": 3,
            "services_met": 2,
            "services_breached": 1,
        },
        record=SignedMonth(state=state, digest=digest),
    )


def test_the_e_mail_says_the_month_its_availability_and_its_digest_in_each_language() -> None:
    link = report_link("https://slakeeper.example/", month="2026-11", lang="en")
    assert link == (
        "https://slakeeper.example/api/v1/reports/availability?month=2026-11&format=pdf&lang=en"
    )
    english = cover_of(report("closed", DIGEST), lang="en", link=link)
    assert english.subject == "Availability report 2026-11: 99.958%"
    assert "3 services: 2 met the target, 1 did not" in english.text
    assert f"SHA-256 of its figures: {DIGEST}" in english.text and link in english.text
    chinese = cover_of(report("closed", DIGEST), lang="zh-CN", link=None)
    assert chinese.subject == "2026-11 可用性报告：99.958%"
    assert "3 个服务：2 个达标，1 个未达标" in chinese.text and DIGEST in chinese.text


def test_an_open_month_is_reported_as_open_without_a_digest() -> None:
    text = cover_of(report("open", None), lang="en", link=None).text
    assert "is not closed" in text and "digest" in text and "None" not in text
    assert "本月尚未关账" in cover_of(report("open", None), lang="zh-CN", link=None).text
