"""On call in real Chromium: a person opens the acknowledgement link of a message on their
phone and acknowledges; an operator sees who is on call and covers a shift."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from access.roles import Role
from core.database import create_database_engine, writing_session
from oncall.acklinks import AckGrant, sign_grant
from oncall.acks import signing_key
from tests.integration.browser import chromium, signed_in
from tests.integration.conftest import AppFactory, Clock, live_server
from tests.integration.people import Person, add_account

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
RULES = """
timezone: Asia/Shanghai
rotations:
  noc:
    layers:
      - participants: [ana, bo]
        shift: 12h
        handoff: '2026-11-02T09:00'
contacts:
  on-duty: {rotation: noc}
"""


def link_for(database_url: str, incident: int, person: str, clock: Clock) -> str:
    """The acknowledgement link a message to `person` would carry."""
    engine = create_database_engine(database_url)
    try:
        with writing_session(engine) as session:
            key = signing_key(session, now=clock())
        grant = AckGrant.new(incident, person, None, clock() + timedelta(hours=24))
        return f"/ack/{sign_grant(key, grant)}"
    finally:
        engine.dispose()


def report(url: str, person: Person) -> int:
    made = httpx.post(
        f"{url}/api/v1/incidents",
        json={
            "title": "支付网关超时",
            "service": "payments",
            "priority": "P1",
            "reporter": "Li Wei",
            "channel": "phone",
        },
        headers=person.headers,
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def test_a_person_acknowledges_from_the_link_on_their_phone(
    make_app: AppFactory, database_url: str, tmp_path: Path, clock: Clock
) -> None:
    (tmp_path / "rules.yaml").write_text(RULES)
    root = add_account(database_url, "root", Role.ADMIN)
    add_account(database_url, "ana", Role.OPERATOR)
    app = make_app(rules=tmp_path / "rules.yaml", host="0.0.0.0")
    with live_server(app) as server, chromium() as browser:
        httpx.patch(
            f"{server.url}/api/v1/users/ana",
            json={"language": "zh-CN", "timezone": "Asia/Shanghai"},
            headers=root.headers,
        ).raise_for_status()
        incident = report(server.url, root)
        page = browser.new_page(**PHONE)  # no session: the link is the credential
        page.goto(server.url + link_for(database_url, incident, "ana", clock))
        expect(page.get_by_role("heading", name="确认事件")).to_be_visible()
        expect(page.locator("main")).to_contain_text("支付网关超时")
        expect(page.locator("main")).to_contain_text("以 ana 的身份确认")
        _no_horizontal_scroll(page)
        page.get_by_label("备注（可选）").fill("在地铁上，十分钟到")
        page.get_by_role("button", name="确认").click()
        expect(page.get_by_role("status")).to_contain_text(f"事件 #{incident} 已由 ana 确认")
        state = httpx.get(f"{server.url}/api/v1/incidents/{incident}", headers=root.headers)
        assert state.json()["acknowledged_by"] == "ana"
        page.go_back()
        page.reload()
        expect(page.get_by_role("alert")).to_contain_text("409 link_used")


def test_an_operator_sees_who_is_on_call_and_covers_a_shift_with_the_keyboard(
    make_app: AppFactory, database_url: str, tmp_path: Path
) -> None:
    (tmp_path / "rules.yaml").write_text(RULES)
    for name in ("ana", "bo", "dora"):
        add_account(database_url, name, Role.OPERATOR)
    app = make_app(rules=tmp_path / "rules.yaml", host="0.0.0.0")
    with live_server(app) as server, chromium() as browser:
        page = signed_in(browser, server.url, "dora")
        page.get_by_role("link", name="On call").click()
        rotation = page.locator("section[data-rotation=noc]")
        # The test clock: 2026-11-21 23:00 UTC is 07:00 in Shanghai, bo's night shift.
        expect(rotation.locator(".current")).to_have_attribute("data-person", "bo")
        expect(rotation.locator(".current")).to_contain_text(
            "until 2026-11-22 01:00 UTC"
        )  # dora: UTC
        page.get_by_label("Who covers").focus()
        page.keyboard.press("Control+A")
        page.keyboard.type("dora")
        page.get_by_label("Start (UTC)").fill("2026-11-21T22:00")
        page.get_by_label("End (UTC)").fill("2026-11-22T02:00")
        page.get_by_label("Reason").focus()
        page.keyboard.type("bo is ill")
        page.keyboard.press("Enter")
        expect(rotation.locator(".current")).to_have_attribute("data-person", "dora")
        listed = page.locator("table.overrides tr[data-override]")
        expect(listed).to_have_count(1)
        expect(listed.first).to_contain_text("bo is ill")
        listed.first.get_by_role("button", name="Delete").click()
        expect(rotation.locator(".current")).to_have_attribute("data-person", "bo")


def _no_horizontal_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    assert width <= viewport, f"the page is {width} px wide on a {viewport} px screen"
