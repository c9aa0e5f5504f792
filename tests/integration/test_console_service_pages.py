"""The console's services, service, maintenance, reports and token pages."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from access.roles import Role
from tests.integration.conftest import AppFactory, Clock
from tests.integration.people import add_account
from tests.integration.test_console import OFF_LOOPBACK, sign_in
from tests.integration.test_console_pages import EXAMPLE, post_form
from tests.integration.test_incident_api import INCIDENTS, REPORT


def test_services_show_state_month_availability_budget_and_open_incidents(
    make_app: AppFactory, database_url: str, clock: Clock
) -> None:
    ana = add_account(database_url, "ana", Role.OPERATOR)
    app = make_app(rules=EXAMPLE, grafana_url="http://grafana.local:3000/", **OFF_LOOPBACK)
    with TestClient(app) as api:
        # An outage of payments since 19:00 UTC on the 21st, reported at 23:00: 4 h down.
        made = api.post(
            INCIDENTS, json={**REPORT, "started_at": "2026-11-21T19:00:00Z"}, headers=ana.headers
        ).json()
        sign_in(api)
        listing = api.get("/services").text
        row = re.search(r'<tr data-service="payments"[^>]*>(.*?)</tr>', listing, re.S)
        assert row is not None
        assert "down" in row[1] and '<a href="/?service=payments">1</a>' in row[1]
        # 4 h down of payments' month so far in Asia/Shanghai (from 31 Oct 16:00 UTC, 511 h, of
        # which the rule file's Sunday maintenance takes 2 h): 1 - 4 / 509 = 99.214 %; the
        # budget, 0.5 % of 509 h = 9,162 s, is overdrawn by 5,238 s.
        assert "99.214 %" in row[1] and "99.500 %" in row[1]
        assert "−1 h 27 min" in row[1]
        assert "checkout" in listing
        page = api.get("/services/payments").text
        assert 'data-figure="availability">99.214 %' in page
        assert '<span class="bar downtime"' in page
        assert "2026-11-21 23:00 CET" not in page  # the viewer's zone is UTC here
        assert "2026-11-21 19:00 UTC" in page
        assert (
            'href="http://grafana.local:3000/d/slakeeper-sla-compliance/'
            'slakeeper-sla-compliance?var-service=payments"' in page
        )
        assert f'href="/incidents/{made["id"]}"' in page
        assert api.get("/services/nothing-like-it").status_code == 404


def test_a_manager_plans_and_cancels_maintenance_and_it_shows_on_the_service_page(
    make_app: AppFactory, database_url: str, clock: Clock
) -> None:
    add_account(database_url, "ana", Role.OPERATOR)
    add_account(database_url, "max", Role.MANAGER)
    with TestClient(make_app(rules=EXAMPLE, **OFF_LOOPBACK)) as api:
        sign_in(api, "ana")
        page = api.get("/maintenance").text
        assert 'action="/maintenance"' not in page
        refused = post_form(api, "/maintenance", {"service": "checkout", "reason": "x"})
        assert refused.status_code == 403
        api.cookies.clear()
        sign_in(api, "max")
        invalid = post_form(api, "/maintenance", {"service": "checkout", "reason": "upgrade"})
        assert invalid.status_code == 422 and 'role="alert"' in invalid.text
        # Checkout is in Europe/Berlin: 02:00-04:00 there is 01:00-03:00 UTC in November.
        planned = post_form(
            api,
            "/maintenance",
            {
                "service": "checkout",
                "start": "2026-11-23T02:00",
                "end": "2026-11-23T04:00",
                "reason": "database upgrade",
            },
        )
        assert planned.status_code == 303 and planned.headers["location"] == "/services/checkout"
        windows = api.get("/api/v1/maintenance", params={"service": "checkout"}).json()["items"]
        [window] = [w for w in windows if w["origin"] == "api"]
        assert window["start"] == "2026-11-23T01:00:00Z" and window["created_by"] == "max"
        service_page = api.get("/services/checkout").text
        assert "database upgrade" in service_page and "2026-11-23 02:00 CET" in service_page
        recurring = post_form(
            api,
            "/maintenance",
            {"service": "checkout", "cron": "0 3 * * sun", "duration": "1h", "reason": "backup"},
        )
        assert recurring.status_code == 303
        listing = api.get("/maintenance").text
        # The next Sundays at 03:00 in Berlin, in Berlin's time.
        assert "2026-11-22 03:00 CET – 2026-11-22 04:00 CET" in listing
        assert "2026-11-29 03:00 CET" in listing
        cancelled = post_form(api, f"/maintenance/{window['id']}/delete", {})
        assert cancelled.status_code == 303
        assert "database upgrade" not in api.get("/services/checkout").text
        gone = post_form(api, f"/maintenance/{window['id']}/delete", {})
        assert gone.status_code == 404 and 'role="alert"' in gone.text


def test_the_reports_page_frames_the_month_s_report_and_offers_downloads(
    make_app: AppFactory, database_url: str
) -> None:
    add_account(database_url, "vic", Role.VIEWER)
    with TestClient(make_app(rules=EXAMPLE, **OFF_LOOPBACK)) as api:
        sign_in(api, "vic")
        page = api.get("/reports").text
        assert 'value="2026-11"' in page
        framed = 'src="/api/v1/reports/availability?month=2026-11&amp;format=html&amp;lang=en"'
        assert framed in page
        for kind in ("html", "csv", "json"):
            assert f"month=2026-11&amp;format={kind}" in page
            download = api.get(f"/api/v1/reports/availability?month=2026-11&format={kind}")
            assert download.status_code == 200
        assert "payments" in api.get("/api/v1/reports/availability?month=2026-11&format=csv").text
        october = api.get("/reports", params={"month": "2026-10"}).text
        assert "month=2026-10&amp;format=csv" in october
        future = api.get("/reports", params={"month": "2027-01"})
        assert future.status_code == 400 and "has not begun" in future.text


def test_my_tokens_page_issues_a_token_once_and_revokes_it(
    make_app: AppFactory, database_url: str
) -> None:
    add_account(database_url, "vic", Role.VIEWER)
    with TestClient(make_app(rules=EXAMPLE, **OFF_LOOPBACK)) as api:
        sign_in(api, "vic")
        before = api.get("/tokens").text
        assert before.count('<tr data-token="') == 1  # the one the test helper made
        issued = post_form(api, "/tokens", {"name": "grafana"})
        assert issued.status_code == 201 and issued.headers["cache-control"] == "no-store"
        text = issued.text.split('id="issued-token" readonly value="')[1].split('"')[0]
        assert text.startswith("slk_")
        fresh = TestClient(api.app)
        assert (
            fresh.get("/api/v1/me", headers={"Authorization": f"Bearer {text}"}).json()["name"]
            == "vic"
        )
        listing = api.get("/tokens").text
        assert text not in listing and listing.count('<tr data-token="') == 2
        token_id = re.findall(r'<tr data-token="(\d+)">\s*<td>grafana</td>', listing)[0]
        escalated = post_form(api, "/tokens", {"name": "more", "scope": "admin"})
        assert escalated.status_code in (403, 422) and 'role="alert"' in escalated.text
        revoked = post_form(api, f"/tokens/{token_id}/revoke", {})
        assert revoked.status_code == 303
        refused = fresh.get("/api/v1/me", headers={"Authorization": f"Bearer {text}"})
        assert refused.status_code == 401
