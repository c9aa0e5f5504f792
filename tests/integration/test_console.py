"""The console's login and incident queue, as a browser asks for them."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

import console.routes
from access.roles import Role
from core.database import create_database_engine, writing_session
from incident.models import Incident
from tests.integration.conftest import AppFactory, Clock
from tests.integration.people import PASSWORD, add_account
from tests.integration.test_incident_api import INCIDENTS, REPORT

OFF_LOOPBACK = {"host": "0.0.0.0"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def sign_in(api: TestClient, username: str = "ana", password: str = PASSWORD) -> Any:
    return api.post(
        "/login",
        content=f"username={username}&password={password.replace(' ', '+')}",
        headers=FORM,
        follow_redirects=False,
    )


def test_a_browser_without_a_session_is_sent_to_the_login_page(make_app: AppFactory) -> None:
    with TestClient(make_app(**OFF_LOOPBACK)) as api:
        home = api.get("/", follow_redirects=False)
        assert home.status_code == 303 and home.headers["location"] == "/login"
        login = api.get("/login")
        assert login.status_code == 200 and "text/html" in login.headers["content-type"]
        assert '<label for="password">Password</label>' in login.text
        assert api.get("/console/static/htmx-2.0.4.min.js").status_code == 200


def test_the_login_form_signs_in_and_the_queue_shows_the_active_incidents_most_urgent_first(
    make_app: AppFactory, database_url: str, clock: Clock
) -> None:
    ana = add_account(database_url, "ana", Role.OPERATOR)
    with TestClient(make_app(**OFF_LOOPBACK)) as api:
        wrong = sign_in(api, password="not her password")
        assert wrong.status_code == 401 and "wrong password" in wrong.text
        for priority in ("P3", "P1", "P2"):
            made = api.post(INCIDENTS, json={**REPORT, "priority": priority}, headers=ana.headers)
            assert made.status_code == 201
        clock.advance(minutes=50)
        signed_in = sign_in(api)
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"
        page = api.get("/")
        assert page.status_code == 200
        rows = page.text.split('data-incident="')[1:]
        assert [row.split("<td>")[1].split("<")[0] for row in rows] == ["P1", "P2", "P3"]
        assert "3 active incidents" in page.text
        # The P1's response target is an hour (example rules): 10 min left of 60 is amber.
        assert 'class="tone-amber"' in rows[0].split(">")[0] + ">"
        assert "response due in 10 min" in rows[0]
        fragment = api.get("/console/queue", params={"priority": "P2"})
        assert fragment.status_code == 200 and "1 active incident<" in fragment.text


def test_the_queue_speaks_chinese_when_asked_and_remembers_it(
    make_app: AppFactory, database_url: str
) -> None:
    add_account(database_url, "ana", Role.OPERATOR)
    with TestClient(make_app(**OFF_LOOPBACK)) as api:
        sign_in(api)
        chinese = api.get("/", params={"lang": "zh-CN"})
        assert "<h1>事件队列</h1>" in chinese.text and 'lang="zh-CN"' in chinese.text
        assert "事件队列" in api.get("/").text  # remembered in a cookie
        english = api.get("/", params={"lang": "en"})
        assert "<h1>Incident queue</h1>" in english.text
    with TestClient(make_app(**OFF_LOOPBACK), headers={"Accept-Language": "zh-CN,zh;q=0.9"}) as api:
        assert "登录" in api.get("/login").text


def test_logging_out_needs_the_form_s_csrf_token_and_ends_the_session(
    make_app: AppFactory, database_url: str
) -> None:
    add_account(database_url, "ana", Role.OPERATOR)
    with TestClient(make_app(**OFF_LOOPBACK)) as api:
        sign_in(api)
        page = api.get("/").text
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        forged = api.post("/logout", content="", headers=FORM, follow_redirects=False)
        assert forged.status_code == 403
        assert api.get("/", follow_redirects=False).status_code == 200
        out = api.post(
            "/logout", content=f"csrf_token={token}", headers=FORM, follow_redirects=False
        )
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert api.get("/", follow_redirects=False).status_code == 303


def test_the_queue_filters_what_i_acknowledged_and_what_breached(
    make_app: AppFactory, database_url: str
) -> None:
    ana = add_account(database_url, "ana", Role.OPERATOR)
    bo = add_account(database_url, "bo", Role.OPERATOR)
    with TestClient(make_app(**OFF_LOOPBACK)) as api:
        ids = [
            api.post(INCIDENTS, json={**REPORT, "title": title}, headers=ana.headers).json()["id"]
            for title in ("mine", "theirs", "late")
        ]
        assert api.post(f"{INCIDENTS}/{ids[0]}/ack", json={}, headers=ana.headers).is_success
        assert api.post(f"{INCIDENTS}/{ids[1]}/ack", json={}, headers=bo.headers).is_success
        engine = create_database_engine(database_url)
        with writing_session(engine) as session:
            session.execute(
                update(Incident).where(Incident.id == ids[2]).values(response_breached=True)
            )
        engine.dispose()
        sign_in(api)

        def titles(**filters: str) -> list[str]:
            rows = api.get("/console/queue", params=filters).text.split('data-incident="')[1:]
            return sorted(row.split('">', 2)[2].split("<")[0] for row in rows)

        assert titles() == ["late", "mine", "theirs"]
        assert titles(mine="1") == ["mine"]
        assert titles(breached="1") == ["late"]
        assert titles(mine="1", breached="1") == []
        page = api.get("/", params={"mine": "1"}).text
        assert 'name="mine" value="1" checked' in page


def test_a_queue_longer_than_a_page_says_so_and_lists_the_newest(
    make_app: AppFactory, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console.routes, "QUEUE_LIMIT", 2)
    ana = add_account(database_url, "ana", Role.OPERATOR)
    with TestClient(make_app(**OFF_LOOPBACK)) as api:
        for title in ("first", "second", "third"):
            made = api.post(INCIDENTS, json={**REPORT, "title": title}, headers=ana.headers)
            assert made.status_code == 201
        sign_in(api)
        page = api.get("/").text
        assert "More than 2 active incidents: the newest 2 are listed." in page
        rows = page.split('data-incident="')[1:]
        assert sorted(row.split('">', 2)[2].split("<")[0] for row in rows) == ["second", "third"]
        chinese = api.get("/console/queue", params={"lang": "zh-CN"}).text
        assert "活动事件超过 2 个" in chinese
