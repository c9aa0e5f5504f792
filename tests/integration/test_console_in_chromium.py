"""The console in real Chromium: sign in with the form, watch an alert's incident arrive in
the queue without reloading, switch to Chinese."""

from __future__ import annotations

import shutil

import httpx

from access.roles import Role
from tests.conftest import FIXTURES, missing
from tests.integration.conftest import AppFactory, live_server
from tests.integration.payloads import webhook_alert, webhook_with
from tests.integration.people import PASSWORD, add_account

EXAMPLE = FIXTURES / "example_rules.yaml"


def test_an_operator_signs_in_and_sees_a_new_incident_arrive_in_the_queue(
    make_app: AppFactory, database_url: str
) -> None:
    executable = shutil.which("chromium") or shutil.which("chromium", path="/usr/bin")
    if executable is None:
        missing("chromium not installed")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        missing("playwright not installed (pip install -e '.[dev]')")
    add_account(database_url, "ana", Role.OPERATOR)
    with live_server(make_app(rules=EXAMPLE)) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{server.url}/")
            expect(page).to_have_url(f"{server.url}/login")
            page.get_by_label("Username").fill("ana")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_role("heading", name="Incident queue")).to_be_visible()
            expect(page.locator("table.queue caption")).to_have_text("0 active incidents")
            alert = webhook_alert("DiskFull", severity="critical", service="payments")
            pushed = httpx.post(
                f"{server.url}/api/v1/webhooks/alertmanager", json=webhook_with(alert)
            )
            assert pushed.status_code == 200, pushed.text
            # No reload: the queue refreshes itself every few seconds.
            row = page.locator("table.queue tbody tr[data-incident]")
            expect(row).to_have_count(1, timeout=10_000)
            expect(row.first).to_contain_text("payments")
            expect(row.first.locator(".clock")).to_contain_text("response due in")
            page.get_by_role("link", name="中文").click()
            expect(page.get_by_role("heading", name="事件队列")).to_be_visible()
            expect(page.locator("table.queue caption")).to_have_text("1 个未结事件")
            expect(row.first.locator(".clock")).to_contain_text("响应剩余")
        finally:
            browser.close()
