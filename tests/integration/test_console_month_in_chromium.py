"""The months page in real Chromium, as two service managers sign November: one closes it
and asks to exclude a false alarm, the other approves; a refused action says why in the page;
the page in Chinese, and on a phone.

On SQLite only: the same page on PostgreSQL is test_console_month_pages' work.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from playwright.sync_api import expect

from access.roles import Kind, Role
from tests.integration.browser import chromium, signed_in
from tests.integration.conftest import AppFactory, Clock, live_server
from tests.integration.payloads import webhook_with
from tests.integration.people import add_account
from tests.integration.test_console_flows_in_chromium import _no_horizontal_scroll
from tests.integration.test_signed_month import AM, EXAMPLE, outage


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_two_managers_sign_november_in_the_page(
    make_app: AppFactory, database_url: str, clock: Clock
) -> None:
    clock.now = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    for name in ("mia", "noor"):
        add_account(database_url, name, Role.MANAGER)
    am = add_account(database_url, "am", None, kind=Kind.SERVICE, may_ingest=True)
    app = make_app(
        rules=EXAMPLE, timezone="Asia/Shanghai", adjustments_need_approval=True, host="0.0.0.0"
    )
    with live_server(app) as server, chromium() as browser:
        alert = outage("2026-11-10T10:00:00Z", "2026-11-10T10:30:00Z")
        pushed = httpx.post(f"{server.url}{AM}", json=webhook_with(alert), headers=am.headers)
        assert pushed.status_code == 200, pushed.text
        page = signed_in(browser, server.url, "mia")
        page.get_by_role("link", name="Months").click()
        expect(page.get_by_role("heading", name="Month 2026-11")).to_be_visible()
        payments = page.locator("table.month-services tr[data-service=payments]")
        expect(payments).to_have_attribute("data-state", "open")

        page.get_by_role("button", name="Close every open service").click()
        expect(payments).to_have_attribute("data-state", "closed")
        expect(payments).to_contain_text("by mia, 2026-12-03 17:00 CST")
        expect(payments.locator("td.adjusted")).to_have_text("99.930 %")

        # Asking to exclude the false alarm, typed in Shanghai time (10:00 UTC is 18:00).
        adjust = page.locator("form#adjust")
        adjust.get_by_label("Service").select_option("payments")
        adjust.get_by_label("Adjustment").select_option("exclude")
        adjust.get_by_label("Start (Asia/Shanghai)").fill("2026-11-10T18:00")
        adjust.get_by_label("End (Asia/Shanghai)").fill("2026-11-10T18:30")
        adjust.get_by_label("Category").select_option("false_alarm")
        adjust.get_by_label("Reason").fill("the probe's own network failed")
        adjust.get_by_role("button", name="Add the adjustment").click()
        awaiting = page.locator("table.adjustments tr[data-adjustment]")
        expect(awaiting).to_have_attribute("data-state", "awaiting_approval")
        expect(awaiting).to_contain_text("2026-11-10 18:00 CST – 2026-11-10 18:30 CST")
        expect(awaiting).to_contain_text("False alarm")

        # Approving one's own is refused, with the server's reason, and changes nothing.
        awaiting.get_by_role("button", name="Approve").click()
        refusal = page.get_by_role("alert")
        expect(refusal).to_contain_text("409 second_person_required")
        expect(refusal).to_contain_text("a second person approves it")
        expect(awaiting).to_have_attribute("data-state", "awaiting_approval")

        # The second manager approves with the keyboard; the adjusted figure shows.
        second = signed_in(browser, server.url, "noor")
        second.goto(f"{server.url}/months/2026-11")
        second.locator("tr[data-adjustment]").get_by_role("button", name="Approve").focus()
        second.keyboard.press("Enter")
        applied = second.locator("table.adjustments tr[data-adjustment]")
        expect(applied).to_have_attribute("data-state", "applied")
        expect(applied).to_contain_text("noor")
        row = second.locator("table.month-services tr[data-service=payments]")
        expect(row.locator("td.adjusted")).to_have_text("100.000 %")
        expect(row).to_contain_text("99.930 %")
        _no_horizontal_scroll(second)

        second.get_by_role("link", name="中文").click()
        expect(second.get_by_role("heading", name="2026-11 月度结算")).to_be_visible()
        expect(second.get_by_role("columnheader", name="可用率（调整后）")).to_be_visible()
        expect(row.locator("td").first).to_contain_text("已关闭")
        second.set_viewport_size({"width": 390, "height": 844})
        _no_horizontal_scroll(second)
