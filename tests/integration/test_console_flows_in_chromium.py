"""The console's incident, service and maintenance pages in real Chromium, as NOC staff and
service managers use them: with the mouse and the keyboard, at 1,280 px and on a phone."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from access.roles import Kind, Role
from tests.conftest import FIXTURES
from tests.integration.browser import chromium, signed_in
from tests.integration.conftest import AppFactory, Clock, live_server
from tests.integration.payloads import webhook_alert, webhook_with
from tests.integration.people import add_account

EXAMPLE = FIXTURES / "example_rules.yaml"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def push(url: str, token_headers: dict[str, str], **labels: str) -> None:
    alert = webhook_alert("DiskFull", **labels)
    alert["annotations"]["runbook_url"] = "https://runbooks.example/diskfull"
    answer = httpx.post(
        f"{url}/api/v1/webhooks/alertmanager", json=webhook_with(alert), headers=token_headers
    )
    assert answer.status_code == 200, answer.text


def test_an_operator_acknowledges_resolves_and_closes_an_incident_in_the_page(
    make_app: AppFactory, database_url: str, clock: Clock
) -> None:
    add_account(database_url, "ana", Role.OPERATOR)
    am = add_account(database_url, "am", None, kind=Kind.SERVICE, may_ingest=True)
    with live_server(make_app(rules=EXAMPLE, host="0.0.0.0")) as server, chromium() as browser:
        push(server.url, am.headers, severity="critical", service="payments")
        page = signed_in(browser, server.url, "ana")
        row = page.locator("table.queue tbody tr[data-incident]")
        expect(row).to_have_count(1, timeout=10_000)
        row.first.get_by_role("link").click()
        expect(page.locator("[data-clock=response]")).to_have_attribute("data-status", "running")
        expect(page.get_by_role("link", name="Runbook")).to_have_attribute(
            "href", "https://runbooks.example/diskfull"
        )
        clock.advance(minutes=3)
        page.get_by_label("Note (optional)").fill("looking at the disks")
        page.get_by_role("button", name="Acknowledge").click()
        response_clock = page.locator("[data-clock=response]")
        expect(response_clock).to_have_attribute("data-status", "stopped")
        expect(response_clock).to_contain_text("stopped after 3 min: met")
        entry = page.locator("ol.timeline li[data-kind=acknowledged]")
        expect(entry).to_contain_text("ana")
        expect(entry).to_contain_text("looking at the disks")
        page.get_by_role("button", name="Resolve").click()
        expect(page.locator("[data-field=state]")).to_have_text("resolved")
        # Closing asks who confirmed: the browser refuses an empty field before sending.
        page.get_by_role("button", name="Close").click()
        expect(page.locator("[data-field=state]")).to_have_text("resolved")
        page.get_by_label("Confirmed by (the customer's contact)").fill("Li Wei")
        page.get_by_role("button", name="Close").click()
        expect(page.locator("[data-field=state]")).to_have_text("closed")
        expect(page.locator("ol.timeline li[data-kind=closed]")).to_contain_text("ana")
        # The same page in Chinese: labels, states and durations.
        page.get_by_role("link", name="中文").click()
        expect(page.locator("[data-field=state]")).to_have_text("已关闭")
        expect(response_clock).to_contain_text("已停止，用时 3 分钟：达标")
        expect(page.get_by_role("heading", name="时间线")).to_be_visible()


def test_a_viewer_sees_no_action_and_a_forged_post_is_refused(
    make_app: AppFactory, database_url: str
) -> None:
    ana = add_account(database_url, "ana", Role.OPERATOR)
    add_account(database_url, "vic", Role.VIEWER)
    with live_server(make_app(rules=EXAMPLE, host="0.0.0.0")) as server, chromium() as browser:
        made = httpx.post(
            f"{server.url}/api/v1/incidents",
            json={
                "title": "Card payments fail",
                "service": "payments",
                "priority": "P2",
                "reporter": "Li Wei",
                "channel": "phone",
            },
            headers=ana.headers,
        ).json()
        page = signed_in(browser, server.url, "vic")
        page.goto(f"{server.url}/incidents/{made['id']}")
        expect(page.get_by_role("heading", name="Card payments fail")).to_be_visible()
        expect(page.locator("section.actions")).to_have_count(0)
        expect(page.get_by_role("button")).to_have_count(1)  # "Log out"
        # A form made up in the page, with the viewer's own CSRF token: the server refuses it
        # and says why, in the page.
        page.evaluate(
            """(id) => {
                const form = document.createElement('form');
                form.method = 'post';
                form.action = `/incidents/${id}/ack`;
                const csrf = document.querySelector('input[name=csrf_token]').cloneNode();
                form.appendChild(csrf);
                document.body.appendChild(form);
                form.submit();
            }""",
            made["id"],
        )
        refusal = page.get_by_role("alert")
        expect(refusal).to_contain_text("403 forbidden")
        expect(refusal).to_contain_text("the operator role or above")
        state = httpx.get(f"{server.url}/api/v1/incidents/{made['id']}", headers=ana.headers)
        assert state.json()["state"] == "open"


def test_reporting_a_phoned_in_incident_on_a_phone(make_app: AppFactory, database_url: str) -> None:
    add_account(database_url, "ana", Role.OPERATOR)
    with live_server(make_app(rules=EXAMPLE, host="0.0.0.0")) as server, chromium() as browser:
        page = signed_in(browser, server.url, "ana", **PHONE)
        page.get_by_role("link", name="Report an incident").click()
        page.get_by_label("Title").fill("Customers cannot pay by card")
        page.get_by_label("Service").fill("payments")
        page.get_by_label("Priority").select_option("P2")
        page.get_by_label("Impact").select_option("outage")
        page.get_by_label("Reported by").fill("Li Wei (customer)")
        page.get_by_label("Channel").select_option("phone")
        _no_horizontal_scroll(page)
        page.get_by_role("button", name="Report").click()
        expect(page.get_by_role("heading", name="Customers cannot pay by card")).to_be_visible()
        expect(page.locator("ol.timeline li[data-kind=opened]")).to_contain_text("ana")
        expect(page.locator("dl.fields")).to_contain_text("reported by Li Wei (customer) via phone")
        _no_horizontal_scroll(page)
        for path in ("/", "/services", "/maintenance", "/tokens"):
            page.goto(f"{server.url}{path}")
            _no_horizontal_scroll(page)


def test_a_manager_plans_maintenance_with_the_keyboard_and_sees_it_on_the_service_page(
    make_app: AppFactory, database_url: str
) -> None:
    add_account(database_url, "max", Role.MANAGER)
    with live_server(make_app(rules=EXAMPLE, host="0.0.0.0")) as server, chromium() as browser:
        page = signed_in(browser, server.url, "max")
        page.get_by_role("link", name="Maintenance").click()
        page.get_by_label("Service").focus()
        page.keyboard.type("checkout")
        page.keyboard.press("Tab")  # into "Start"
        page.keyboard.type("11232026")
        page.keyboard.press("Tab")
        page.keyboard.type("0200AM")
        page.get_by_label("End").focus()
        page.keyboard.type("11232026")
        page.keyboard.press("Tab")
        page.keyboard.type("0400AM")
        page.get_by_label("Reason").focus()
        page.keyboard.type("database upgrade")
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="checkout")).to_be_visible()
        planned = page.locator("table.maintenance tr[data-service=checkout]").filter(
            has_text="database upgrade"
        )
        # Planned in Berlin time, shown in Berlin time (the service's zone).
        expect(planned).to_contain_text("2026-11-23 02:00 CET – 2026-11-23 04:00 CET")
        expect(planned).to_contain_text("max")
        page.get_by_role("link", name="Services").click()
        expect(page.locator("tr[data-service=checkout]")).to_contain_text("99.900 %")


def _no_horizontal_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    assert width <= viewport, f"the page is {width} px wide on a {viewport} px screen"
