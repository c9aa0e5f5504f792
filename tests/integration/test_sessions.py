"""Console logins: password, session cookie, CSRF, expiry, logout; the SSO proxy header; two
replicas sharing sessions and tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from access.roles import Role
from tests.integration.conftest import AppFactory, Clock
from tests.integration.people import PASSWORD, add_account, bearer
from tests.integration.test_incident_api import INCIDENTS, REPORT

Query = Callable[[str], list[Any]]
OFF_LOOPBACK = {"host": "0.0.0.0"}


def log_in(api: TestClient, username: str = "ana", password: str = PASSWORD) -> dict[str, Any]:
    response = api.post("/api/v1/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_password_login_sets_a_safe_cookie_and_writes_need_its_csrf_token(
    make_app: AppFactory, database_url: str, query: Query
) -> None:
    add_account(database_url, "ana", Role.OPERATOR)
    with TestClient(make_app(**OFF_LOOPBACK)) as api:
        response = api.post("/api/v1/login", json={"username": "ana", "password": PASSWORD})
        assert response.status_code == 200, response.text
        cookie = response.headers["set-cookie"]
        assert "slakeeper_session=" in cookie
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie  # plain HTTP here
        csrf = response.json()["csrf_token"]
        me = api.get("/api/v1/me").json()
        assert (me["name"], me["method"], me["csrf_token"]) == ("ana", "session", csrf)
        before = query("SELECT count(*) FROM incidents")[0][0]
        refused = api.post(INCIDENTS, json=REPORT)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "csrf_failed"
        wrong = api.post(INCIDENTS, json=REPORT, headers={"X-CSRF-Token": "guess"})
        assert wrong.status_code == 403
        assert query("SELECT count(*) FROM incidents")[0][0] == before
        done = api.post(INCIDENTS, json=REPORT, headers={"X-CSRF-Token": csrf})
        assert done.status_code == 201, done.text
        [(actor,)] = query("SELECT actor FROM incident_events WHERE kind = 'opened'")
        assert actor == "ana"


def test_a_cross_site_form_post_is_refused(
    make_app: AppFactory, database_url: str, query: Query
) -> None:
    add_account(database_url, "ana", Role.OPERATOR)
    with TestClient(make_app(**OFF_LOOPBACK)) as api:
        csrf = log_in(api)["csrf_token"]
        incident_id = api.post(INCIDENTS, json=REPORT, headers={"X-CSRF-Token": csrf}).json()["id"]
        # What a page on another site submits: a form, the browser adding the cookie.
        forged = api.post(
            f"{INCIDENTS}/{incident_id}/ack",
            content="actor=ana",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": "https://evil.example",
                "Sec-Fetch-Site": "cross-site",
            },
        )
        assert forged.status_code == 403
        assert forged.json()["error"]["code"] == "csrf_failed"
        # Even with the token (stolen), a cross-site request is refused.
        assert (
            api.post(
                f"{INCIDENTS}/{incident_id}/ack",
                json={},
                headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"},
            ).status_code
            == 403
        )
        assert query(f"SELECT state FROM incidents WHERE id = {incident_id}") == [("open",)]


def test_sessions_end_when_idle_at_their_longest_and_on_logout(
    make_app: AppFactory, database_url: str, clock: Clock
) -> None:
    add_account(database_url, "ana", Role.OPERATOR)
    lifetimes = {"session_idle_seconds": 3600, "session_max_seconds": 3 * 3600}
    with TestClient(make_app(**lifetimes, **OFF_LOOPBACK)) as api:
        log_in(api)
        clock.advance(minutes=59)
        assert api.get("/api/v1/me").status_code == 200  # seen: idle time starts again
        clock.advance(minutes=59)
        assert api.get("/api/v1/me").status_code == 200
        clock.advance(minutes=61)
        ended = api.get("/api/v1/me")
        assert ended.status_code == 401 and "log in again" in ended.json()["error"]["message"]
        api.cookies.clear()
        log_in(api)
        for _ in range(5):
            clock.advance(minutes=50)
            api.get("/api/v1/me")
        assert api.get("/api/v1/me").status_code == 401  # 3 h after login, however active
        api.cookies.clear()
        csrf = log_in(api)["csrf_token"]
        cookie = api.cookies.get("slakeeper_session")
        assert api.post("/api/v1/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
        api.cookies.set("slakeeper_session", cookie or "")
        assert api.get("/api/v1/me").status_code == 401


def test_failed_logins_are_audited_then_held_off(
    make_app: AppFactory, database_url: str, query: Query
) -> None:
    add_account(database_url, "ana", Role.OPERATOR)
    with TestClient(make_app(**OFF_LOOPBACK)) as api:
        for _ in range(10):
            wrong = api.post("/api/v1/login", json={"username": "ana", "password": "nope"})
            assert wrong.status_code == 401
        held = api.post("/api/v1/login", json={"username": "ana", "password": PASSWORD})
        assert held.status_code == 429 and held.headers["retry-after"]
        unknown = api.post("/api/v1/login", json={"username": "nobody", "password": "x"})
        assert unknown.status_code == 401
    rows = query("SELECT actor, outcome, address FROM audit_events WHERE action = 'login'")
    assert rows.count(("ana", "refused", "testclient")) == 10
    assert ("nobody", "refused", "testclient") in rows


@pytest.mark.parametrize(
    ("peer", "honoured"), [("10.0.0.7", True), ("10.0.1.9", False), ("192.0.2.1", False)]
)
def test_the_proxy_user_header_is_honoured_only_from_a_trusted_proxy(
    make_app: AppFactory, database_url: str, peer: str, honoured: bool
) -> None:
    add_account(database_url, "ana", Role.OPERATOR, password=None)
    app = make_app(
        auth_proxy_header="X-Forwarded-User", trusted_proxies="10.0.0.0/24", **OFF_LOOPBACK
    )
    with TestClient(app, client=(peer, 40000)) as api:
        headers = {"X-Forwarded-User": "ana", "X-Forwarded-For": "198.51.100.4"}
        me = api.get("/api/v1/me", headers=headers)
        if honoured:
            assert me.status_code == 200
            assert (me.json()["name"], me.json()["method"]) == ("ana", "proxy")
            incident = api.post(INCIDENTS, json=REPORT, headers=headers)
            assert incident.status_code == 201
            unknown = api.get("/api/v1/me", headers={"X-Forwarded-User": "mallory"})
            assert unknown.status_code == 401
        else:
            assert me.status_code == 401


def test_the_audit_trail_records_the_address_a_trusted_proxy_forwarded(
    make_app: AppFactory, database_url: str, query: Query
) -> None:
    ana = add_account(database_url, "ana", Role.OPERATOR)
    settings = {"trusted_proxies": "10.0.0.7", **OFF_LOOPBACK}
    with TestClient(make_app(**settings), client=("10.0.0.7", 40000)) as api:
        forwarded = {**ana.headers, "X-Forwarded-For": "203.0.113.9, 10.0.0.7"}
        assert api.post(INCIDENTS, json=REPORT, headers=forwarded).status_code == 201
    with TestClient(make_app(**settings), client=("192.0.2.50", 40000)) as api:
        spoofed = {**ana.headers, "X-Forwarded-For": "203.0.113.77"}
        assert api.post(INCIDENTS, json=REPORT, headers=spoofed).status_code == 201
    assert query(
        "SELECT address FROM audit_events WHERE action = 'incident.report' ORDER BY id"
    ) == [
        ("203.0.113.9",),
        ("192.0.2.50",),
    ]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_replicas_on_postgresql_accept_each_others_sessions_and_tokens(
    make_app: AppFactory, database_url: str
) -> None:
    add_account(database_url, "root", Role.ADMIN)
    first_app, second_app = make_app(**OFF_LOOPBACK), make_app(**OFF_LOOPBACK)
    with TestClient(first_app) as first, TestClient(second_app) as second:
        csrf = log_in(first, "root")["csrf_token"]
        second.cookies.set("slakeeper_session", first.cookies["slakeeper_session"])
        assert second.get("/api/v1/me").json()["name"] == "root"
        issued = second.post(
            "/api/v1/tokens", json={"name": "am", "scope": "viewer"}, headers={"X-CSRF-Token": csrf}
        )
        assert issued.status_code == 201, issued.text
        token = issued.json()["token"]
        assert first.get(INCIDENTS, headers=bearer(token)).status_code == 200
        assert first.post("/api/v1/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
        assert second.get("/api/v1/me").status_code == 401
