"""The monthly compliance report from a database with outages, incidents and breaches."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from access.roles import Role
from slakeeper.cli import main
from tests.conftest import FIXTURES, missing
from tests.integration.browser import chromium_path
from tests.integration.conftest import AppFactory, Clock
from tests.integration.payloads import webhook_alert, webhook_with
from tests.integration.people import add_account
from tests.integration.test_console import OFF_LOOPBACK, sign_in

EXAMPLE = FIXTURES / "example_rules.yaml"
AM = "/api/v1/webhooks/alertmanager"
REPORT = "/api/v1/reports/availability"


@pytest.fixture
def api(make_app: AppFactory) -> Iterator[TestClient]:
    with TestClient(make_app(rules=EXAMPLE)) as client:
        yield client


def push(api: TestClient, *alerts: dict[str, Any]) -> None:
    response = api.post(AM, json=webhook_with(*alerts))
    assert response.status_code == 200, response.text


def at(clock: Clock, text: str) -> None:
    clock.now = datetime.fromisoformat(text).astimezone(UTC)


@pytest.fixture
def month(api: TestClient, clock: Clock) -> dict[str, Any]:
    """November so far: payments down 100 min (a P1 acknowledged 30 min late);
    checkout degraded 30 min (a P2, acknowledged in time); a P3 warning on payments."""
    instance_down = {"service": "payments", "instance": "db1"}
    at(clock, "2026-11-10T10:00:05+00:00")
    push(api, webhook_alert("InstanceDown", starts_at="2026-11-10T10:00:00Z", **instance_down))
    push(
        api,
        webhook_alert(
            "Latency", starts_at="2026-11-10T10:00:00Z", severity="warning", service="payments"
        ),
    )
    at(clock, "2026-11-10T10:05:00+00:00")
    push(
        api,
        webhook_alert(
            "ErrorRate", starts_at="2026-11-10T10:05:00Z", severity="critical", job="checkout"
        ),
    )
    incidents = {item["priority"]: item for item in api.get("/api/v1/incidents").json()["items"]}
    at(clock, "2026-11-10T10:20:00+00:00")
    api.post(f"/api/v1/incidents/{incidents['P2']['id']}/ack", json={"actor": "ana"})
    at(clock, "2026-11-10T10:35:00+00:00")
    push(
        api,
        webhook_alert(
            "ErrorRate",
            status="resolved",
            starts_at="2026-11-10T10:05:00Z",
            ends_at="2026-11-10T10:35:00Z",
            severity="critical",
            job="checkout",
        ),
    )
    at(clock, "2026-11-10T11:30:00+00:00")
    acked = api.post(f"/api/v1/incidents/{incidents['P1']['id']}/ack", json={"actor": "ana"})
    assert acked.json()["response_breached"] is True
    at(clock, "2026-11-10T11:40:00+00:00")
    push(
        api,
        webhook_alert(
            "InstanceDown",
            status="resolved",
            starts_at="2026-11-10T10:00:00Z",
            ends_at="2026-11-10T11:40:00Z",
            **instance_down,
        ),
    )
    at(clock, "2026-11-21T23:00:00+00:00")
    return incidents


def test_the_json_report_agrees_with_each_services_availability(
    api: TestClient, month: dict[str, Any]
) -> None:
    response = api.get(REPORT, params={"month": "2026-11"})
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["month"], report["timezone"]) == ("2026-11", "Asia/Shanghai")
    services = {item["service"]: item for item in report["services"]}
    assert set(services) == {"payments", "checkout"}
    for name, row in services.items():
        alone = api.get(f"/api/v1/services/{name}/availability", params={"month": "2026-11"})
        for field, value in alone.json().items():
            assert row[field] == (pytest.approx(value) if isinstance(value, float) else value)

    payments = services["payments"]
    assert payments["downtime_seconds"] == 100 * 60
    assert payments["maintenance_seconds"] == 2 * 3600
    assert payments["incidents"] == 2
    assert payments["response_breaches"] == 1
    assert payments["mtta_seconds"] == 3600 + 29 * 60 + 55  # only the P1 responded
    assert services["checkout"]["degraded_seconds"] == 30 * 60
    assert services["checkout"]["downtime_seconds"] == 0

    overall = {row["priority"]: row for row in report["priorities"]}
    assert list(overall) == ["P1", "P2", "P3", "P4"]
    assert [overall[p]["incidents"] for p in overall] == [1, 1, 1, 0]
    assert overall["P1"]["response_met_ratio"] == 0.0
    assert overall["P2"]["response_met_ratio"] == 1.0
    assert overall["P4"]["response_met_ratio"] is None

    [breach] = report["breaches"]
    assert breach["incident_id"] == month["P1"]["id"]
    assert breach["kind"] == "response"
    assert breach["late_seconds"] == 29 * 60 + 55  # due at 11:00:05, acknowledged at 11:30

    summary = report["summary"]
    assert summary["services"] == 2
    assert summary["incidents"] == 3
    assert summary["response_breaches"] == 1
    assert summary["downtime_seconds"] == 100 * 60
    assert sum(day["downtime_seconds"] for day in report["downtime_by_day"]) == 100 * 60
    [down_day] = [day for day in report["downtime_by_day"] if day["downtime_seconds"]]
    assert down_day["day"] == "2026-11-10"


def test_the_csv_report_has_a_row_per_service_and_a_summary_row(
    api: TestClient, month: dict[str, Any]
) -> None:
    response = api.get(REPORT, params={"month": "2026-11", "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["service"] for row in rows] == ["checkout", "payments", "(all)"]
    payments = rows[1]
    assert float(payments["downtime_seconds"]) == 6000
    assert payments["P1_incidents"] == "1"
    assert payments["P1_response_breaches"] == "1"
    assert payments["met"] == "True"
    assert rows[2]["incidents"] == "3"


def test_the_html_report_is_one_page_with_the_figures(
    api: TestClient, month: dict[str, Any]
) -> None:
    response = api.get(REPORT, params={"month": "2026-11", "format": "html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "payments" in page and "checkout" in page
    assert "<script" not in page.lower()
    assert 'src="http' not in page and 'href="http' not in page


@pytest.mark.parametrize(("month", "status"), [("2026-13", 400), ("2030-01", 422), ("", 400)])
def test_a_report_for_a_month_that_cannot_be_is_refused(
    api: TestClient, month: str, status: int
) -> None:
    response = api.get(REPORT, params={"month": month})
    assert response.status_code == status, response.text


def test_the_report_command_writes_the_same_report(
    api: TestClient, month: dict[str, Any], database_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "november.csv"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "slakeeper.cli",
            "report",
            "--month",
            "2026-11",
            "--format",
            "csv",
            "--out",
            str(out),
            "--database-url",
            database_url,
            "--rules",
            str(EXAMPLE),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = {row["service"]: row for row in csv.DictReader(out.open())}
    assert float(rows["payments"]["downtime_seconds"]) == 6000
    assert rows["payments"]["P1_response_breaches"] == "1"

    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "slakeeper.cli",
            "report",
            "--month",
            "11/2026",
            "--database-url",
            database_url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2
    assert "YYYY-MM" in bad.stderr


def test_counts_in_the_csv_are_integers_as_in_json(api: TestClient, month: dict[str, Any]) -> None:
    as_json = api.get(REPORT, params={"month": "2026-11"}).json()
    rows = csv.DictReader(
        io.StringIO(api.get(REPORT, params={"month": "2026-11", "format": "csv"}).text)
    )
    by_service = {row["service"]: row for row in rows}
    for service in as_json["services"]:
        row = by_service[service["service"]]
        assert row["warranty_extension_days"] == str(service["warranty_extension_days"])
        assert row["incidents"] == str(service["incidents"])
    assert by_service["(all)"]["warranty_extension_days"] == ""


def test_a_service_named_like_a_formula_is_text_in_the_csv(client: TestClient) -> None:
    names = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]
    alerts = [webhook_alert("Down", service=name, severity="critical") for name in names]
    assert client.post("/api/v1/webhooks/alertmanager", json=webhook_with(*alerts)).is_success
    response = client.get(REPORT, params={"month": "2026-11", "format": "csv"})
    assert response.status_code == 200, response.text
    services = [row["service"] for row in csv.DictReader(io.StringIO(response.text))]
    assert sorted(services[:-1]) == sorted("'" + name for name in names)
    for line in response.text.splitlines()[1:]:
        assert not line.lstrip('"').startswith(("=", "+", "-", "@", "\t", "\r")), line


# The report in a language, and as PDF ---------------------------------------------------


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[bytes]:
    """`slakeeper ARGS` in a process of its own; stdout as bytes (a PDF may be on it)."""
    return subprocess.run(
        [sys.executable, "-m", "slakeeper.cli", *args],
        capture_output=True,
        timeout=120,
        check=False,
        env={**os.environ, **env},
    )


def pdf_facts(pdf: bytes, folder: Path) -> tuple[list[str], str]:
    """The paper of each page (pdfinfo) and the text (pdftotext) of a PDF."""
    tools = [shutil.which(tool) for tool in ("pdfinfo", "pdftotext")]
    if None in tools:
        missing("pdfinfo and pdftotext not installed (poppler-utils)")
    path = folder / "report.pdf"
    path.write_bytes(pdf)
    read = [str(tools[0]), "-f", "1", "-l", "1000", str(path)]
    info = subprocess.run(read, capture_output=True, text=True, timeout=30, check=True).stdout
    text = subprocess.run(
        [str(tools[1]), "-enc", "UTF-8", str(path), "-"],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    return re.findall(r"Page\s+\d+ size:.*\((\w+)\)", info), text


def test_the_html_report_is_in_the_language_asked_for_else_the_browser_s(
    api: TestClient, month: dict[str, Any]
) -> None:
    html = {"month": "2026-11", "format": "html"}
    chinese = api.get(REPORT, params={**html, "lang": "zh-CN"}, headers={"Accept-Language": "en"})
    assert chinese.status_code == 200, chinese.text
    assert chinese.headers["content-language"] == "zh-CN" and "vary" not in chinese.headers
    assert '<html lang="zh-CN">' in chinese.text
    assert "可用性合规报告 — 2026-11" in chinese.text and "payments" in chinese.text
    browser = api.get(REPORT, params=html, headers={"Accept-Language": "zh-TW,zh;q=0.9,en;q=0.5"})
    assert '<html lang="zh-CN">' in browser.text
    assert browser.headers["vary"] == "Accept-Language"
    english = api.get(REPORT, params=html, headers={"Accept-Language": "fr, zh;q=0.2, en;q=0.5"})
    assert '<html lang="en">' in english.text and "Availability compliance report" in english.text
    assert '<html lang="en">' in api.get(REPORT, params=html).text
    refused = api.get(REPORT, params={**html, "lang": "fr"})
    assert refused.status_code == 400, refused.text
    as_json = api.get(REPORT, params={"month": "2026-11", "lang": "zh-CN"})
    assert as_json.headers["content-type"] == "application/json"  # figures have no language


def test_the_pdf_report_is_an_a4_attachment_in_the_language_asked_for(
    api: TestClient, month: dict[str, Any], tmp_path: Path
) -> None:
    chromium_path()
    response = api.get(REPORT, params={"month": "2026-11", "format": "pdf", "lang": "zh-CN"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == (
        'attachment; filename="availability-2026-11.pdf"'
    )
    assert response.headers["content-language"] == "zh-CN"
    papers, text = pdf_facts(response.content, tmp_path)
    assert papers and set(papers) == {"A4"}
    assert "可用性合规报告 — 2026-11" in text and "计算方法" in text
    assert "payments" in text and "1 小时 40 分" in text  # its downtime: 100 minutes


def test_a_pdf_without_chromium_is_a_503_that_says_which_setting_to_set(
    make_app: AppFactory,
) -> None:
    app = make_app(rules=EXAMPLE, chromium_path="/nonexistent/chromium")
    with TestClient(app) as client:
        response = client.get(REPORT, params={"month": "2026-11", "format": "pdf"})
        assert client.get(REPORT, params={"month": "2026-11", "format": "html"}).is_success
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "pdf_unavailable"
    assert "SLAKEEPER_CHROMIUM_PATH" in error["message"]


def test_the_report_command_prints_pdf_and_html_in_the_language_asked_for(
    api: TestClient,
    month: dict[str, Any],
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    chromium_path()
    where = ("--database-url", database_url, "--rules", str(EXAMPLE))
    # As an operator runs it: a process whose stdout takes the PDF's bytes.
    pdf = cli("report", "--month", "2026-11", "--format", "pdf", "--lang", "zh-CN", *where)
    assert pdf.returncode == 0, pdf.stderr.decode()
    assert pdf.stdout.startswith(b"%PDF-")
    papers, text = pdf_facts(pdf.stdout, tmp_path)
    assert set(papers) == {"A4"} and "可用性合规报告 — 2026-11" in text and "payments" in text

    # The rest in this process (a process of its own costs seconds each).
    out = tmp_path / "november.html"
    html = ["report", "--month", "2026-11", "--format", "html", "--lang", "zh-CN", *where]
    assert main([*html, "--out", str(out)]) == 0
    assert '<html lang="zh-CN">' in out.read_text(encoding="utf-8")
    assert "wrote the 2026-11 report (html, zh-CN)" in capsys.readouterr().err
    monkeypatch.setenv("SLAKEEPER_CHROMIUM_PATH", "/nonexistent/chromium")
    nowhere = tmp_path / "never.pdf"
    assert (
        main(["report", "--month", "2026-11", "--format", "pdf", "--out", str(nowhere), *where])
        == 2
    )
    assert "SLAKEEPER_CHROMIUM_PATH" in capsys.readouterr().err and not nowhere.exists()


def test_the_reports_page_frames_and_offers_the_report_in_the_viewer_s_language(
    make_app: AppFactory, database_url: str
) -> None:
    add_account(database_url, "vic", Role.VIEWER)
    with TestClient(make_app(rules=EXAMPLE, **OFF_LOOPBACK)) as console:
        sign_in(console, "vic")
        page = console.get("/reports", params={"month": "2026-11", "lang": "zh-CN"}).text
    base = "/api/v1/reports/availability?month=2026-11"
    assert f'src="{base}&amp;format=html&amp;lang=zh-CN"' in page
    for kind in ("html", "pdf", "csv", "json"):
        assert f'href="{base}&amp;format={kind}&amp;lang=zh-CN"' in page
    assert 'download="availability-2026-11.pdf">PDF</a>' in page
