"""The console's months page over HTTP, on SQLite and PostgreSQL: the signed month as a browser
asks for it, every form with the session's CSRF field and through `ledger.desk`; what the
server refuses is shown in the page with the API's status and reason.

The example rule file puts `payments` in Asia/Shanghai, and so is the console's zone here:
times are typed and shown in Shanghai time. The clock stands on 3 December.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from access.roles import Kind, Role
from core.database import create_database_engine
from ledger.jobs import watch_changes
from tests.integration.conftest import AppFactory, Clock
from tests.integration.payloads import webhook_with
from tests.integration.people import Person, add_account
from tests.integration.test_console import FORM, OFF_LOOPBACK, sign_in
from tests.integration.test_signed_month import AM, EXAMPLE, outage

PAGE = "/months/2026-11"


@pytest.fixture
def people(database_url: str) -> dict[str, Person]:
    found = {
        name: add_account(database_url, name, role)
        for name, role in (("mia", Role.MANAGER), ("noor", Role.MANAGER), ("vic", Role.VIEWER))
    }
    found["am"] = add_account(database_url, "am", None, kind=Kind.SERVICE, may_ingest=True)
    return found


@pytest.fixture
def api(make_app: AppFactory, clock: Clock, people: dict[str, Person]) -> Iterator[TestClient]:
    clock.now = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    app = make_app(
        rules=EXAMPLE, timezone="Asia/Shanghai", adjustments_need_approval=True, **OFF_LOOPBACK
    )
    with TestClient(app) as client:
        yield client


def push(api: TestClient, people: dict[str, Person], start: str, end: str) -> None:
    pushed = api.post(AM, json=webhook_with(outage(start, end)), headers=people["am"].headers)
    assert pushed.status_code == 200, pushed.text


def as_person(api: TestClient, username: str) -> None:
    """Sign in as `username`; the session's CSRF field is read from the (light) queue page."""
    api.cookies.clear()
    assert sign_in(api, username).status_code == 303
    page = api.get("/").text
    api.headers["X-Test-Csrf"] = page.split('name="csrf_token" value="')[1].split('"')[0]


def post(api: TestClient, path: str, fields: dict[str, Any]) -> httpx.Response:
    """Post a form as the browser does: its fields and the session's CSRF field."""
    form = {**fields, "csrf_token": api.headers["X-Test-Csrf"]}
    answer: httpx.Response = api.post(path, data=form, headers=FORM, follow_redirects=False)
    return answer


def row(page: str, attribute: str, value: object) -> str:
    found = re.search(rf'<tr {attribute}="{value}"(.*?)</tr>', page, re.S)
    assert found is not None, f"no row {attribute}={value}"
    return found[1]


EXCLUSION = {
    "service": "payments",
    "action": "exclude",
    "start": "2026-11-10T18:00",  # 10:00 UTC, in Shanghai
    "end": "2026-11-10T18:30",
    "category": "false_alarm",
    "reason": "the probe's own network failed",
}


def test_a_manager_closes_november_and_a_second_one_approves_an_exclusion(
    api: TestClient, people: dict[str, Person]
) -> None:
    push(api, people, "2026-11-10T10:00:00Z", "2026-11-10T10:30:00Z")
    as_person(api, "mia")
    picked = api.get("/months", follow_redirects=False)
    assert picked.status_code == 303 and picked.headers["location"] == PAGE
    page = api.get(PAGE).text
    assert '<a href="/months" aria-current="page">Months</a>' in page
    assert 'data-state="open"' in row(page, "data-service", "payments")
    assert 'action="/months/2026-11/close"' in page
    assert 'id="adjust"' not in page  # nothing closed: nothing to adjust

    nothing = post(api, f"{PAGE}/close", {"scope": "chosen"})
    assert nothing.status_code == 422 and "tick at least one service" in nothing.text
    closed = post(api, f"{PAGE}/close", {"scope": "chosen", "services": ["payments"]})
    assert closed.status_code == 303 and closed.headers["location"] == f"{PAGE}#close"
    page = api.get(PAGE).text
    payments = row(page, "data-service", "payments")
    assert 'data-state="closed"' in payments
    assert "by mia, 2026-12-03 17:00 CST" in payments
    assert "99.930 %" in payments and "30 min" in payments
    assert 'data-state="open"' in row(page, "data-service", "checkout")
    assert "Partly closed" in page and 'data-field="digest"' in page
    again = post(api, f"{PAGE}/close", {"scope": "chosen", "services": ["payments"]})
    assert again.status_code == 409 and 'role="alert"' in again.text
    assert "closed already for payments" in again.text

    made = post(api, f"{PAGE}/adjustments", EXCLUSION)
    assert made.status_code == 303, made.text
    page = api.get(PAGE).text
    (adjustment_id,) = re.findall(r'<tr data-adjustment="(\d+)"', page)
    awaiting = row(page, "data-adjustment", adjustment_id)
    assert "Awaiting approval" in awaiting and "False alarm" in awaiting
    assert "2026-11-10 18:00 CST – 2026-11-10 18:30 CST" in re.sub(r"<[^>]+>", "", awaiting)
    assert "1 adjustment awaits a second manager" in page
    own = post(api, f"{PAGE}/adjustments/{adjustment_id}/approve", {})
    assert own.status_code == 409 and "second_person_required" in own.text
    assert "a second person approves it" in own.text

    as_person(api, "noor")
    approved = post(api, f"{PAGE}/adjustments/{adjustment_id}/approve", {})
    assert approved.status_code == 303, approved.text
    page = api.get(PAGE).text
    applied = row(page, "data-adjustment", adjustment_id)
    assert 'data-state="applied"' in applied and "noor" in applied
    assert "−30 min" in applied and "+0.070 pp" in applied
    payments = row(page, "data-service", "payments")
    assert re.search(r'class="number adjusted"[^>]*>100\.000 %', payments)
    assert "99.930 %" in payments  # the raw figure beside it


def test_changes_since_close_disputes_reopening_and_what_a_viewer_sees(
    api: TestClient, people: dict[str, Person], database_url: str, clock: Clock
) -> None:
    push(api, people, "2026-11-10T10:00:00Z", "2026-11-10T10:30:00Z")
    as_person(api, "mia")
    assert post(api, f"{PAGE}/close", {"scope": "all"}).status_code == 303
    push(api, people, "2026-11-20T08:00:00Z", "2026-11-20T08:10:00Z")
    engine = create_database_engine(database_url)
    assert watch_changes(engine, rules=api.app.state.rules.current, now=clock.now) == 1  # type: ignore[attr-defined]
    engine.dispose()
    page = api.get(PAGE).text
    (change_id,) = re.findall(r'<tr data-change="(\d+)"', page)
    change = row(page, "data-change", change_id)
    assert "+10 min" in change and "Pending" in change
    accept = {"service": "payments", "action": "accept", "pending_change_id": change_id}
    unexplained = post(api, f"{PAGE}/adjustments", {**accept, "category": "monitoring_error"})
    assert unexplained.status_code == 422 and "reason" in unexplained.text
    accepted = post(
        api, f"{PAGE}/adjustments", {**accept, "category": "monitoring_error", "reason": "late"}
    )
    assert accepted.status_code == 303 and accepted.headers["location"] == f"{PAGE}#changes"

    disputed = post(
        api,
        f"{PAGE}/disputes",
        {
            "service": "payments",
            "start": "2026-11-20T16:00",
            "end": "2026-11-20T16:10",
            "contact": "li.wei@customer.example",
            "reason": "our users saw no failure",
        },
    )
    assert disputed.status_code == 303, disputed.text
    page = api.get(PAGE).text
    (dispute_id,) = re.findall(r'<tr data-dispute="(\d+)"', page)
    assert "Accept a change since close" in page  # awaiting the second manager
    assert "li.wei@customer.example" in row(page, "data-dispute", dispute_id)
    resolved = post(
        api, f"{PAGE}/disputes/{dispute_id}/resolve", {"resolution": "credited one hour"}
    )
    assert resolved.status_code == 303
    assert 'data-state="resolved"' in row(api.get(PAGE).text, "data-dispute", dispute_id)

    no_reason = post(api, f"{PAGE}/reopen", {"scope": "all"})
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    reopened = post(
        api, f"{PAGE}/reopen", {"scope": "chosen", "services": ["checkout"], "reason": "recount"}
    )
    assert reopened.status_code == 303
    assert 'data-state="open"' in row(api.get(PAGE).text, "data-service", "checkout")

    # A viewer reads the month and its records, and may change nothing.
    as_person(api, "vic")
    page = api.get(PAGE).text
    assert '<form method="post" action="/months' not in page
    assert "li.wei@customer.example" in page
    forged = post(api, f"{PAGE}/reopen", {"scope": "all", "reason": "mine now"})
    assert forged.status_code == 403 and "the manager role or above" in forged.text
    assert 'data-state="closed"' in row(api.get(PAGE).text, "data-service", "payments")

    chinese = api.get(PAGE, params={"lang": "zh-CN"}).text
    assert "月度结算" in chinese and "已关闭" in chinese and "争议" in chinese
    assert api.get("/months/2026-13").status_code == 400
    future = api.get("/months/2027-05")
    assert future.status_code == 422 and "text/html" in future.headers["content-type"]
    report = api.get("/reports", params={"month": "2026-11"}).text
    assert 'href="/months/2026-11"' in report
