"""`GET /api/v1/audit`: who did what, when, from where, before and after; filters and pages."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from access.roles import Role
from tests.integration.conftest import AppFactory
from tests.integration.people import PASSWORD, add_account
from tests.integration.test_incident_api import INCIDENTS, REPORT

OFF_LOOPBACK = {"host": "0.0.0.0"}


def pages(api: TestClient, headers: dict[str, str], **params: Any) -> list[list[dict[str, Any]]]:
    found = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        answer = api.get("/api/v1/audit", params=query, headers=headers)
        assert answer.status_code == 200, answer.text
        found.append(answer.json()["items"])
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return found


def test_the_audit_trail_keeps_each_change_with_before_and_after(
    make_app: AppFactory, database_url: str
) -> None:
    ana = add_account(database_url, "ana", Role.OPERATOR)
    max_ = add_account(database_url, "max", Role.MANAGER)
    with TestClient(make_app(**OFF_LOOPBACK)) as api:
        incident_id = api.post(INCIDENTS, json=REPORT, headers=ana.headers).json()["id"]
        api.post(f"{INCIDENTS}/{incident_id}/ack", json={}, headers=ana.headers)
        api.patch(f"{INCIDENTS}/{incident_id}", json={"priority": "P1"}, headers=max_.headers)
        window = {
            "service": "payments",
            "start": "2026-11-25T01:00:00Z",
            "end": "2026-11-25T02:00:00Z",
            "reason": "upgrade",
        }
        planned = api.post("/api/v1/maintenance", json=window, headers=max_.headers).json()
        api.delete(f"/api/v1/maintenance/{planned['id']}", headers=max_.headers)
        api.post("/api/v1/login", json={"username": "ana", "password": "wrong password!"})
        api.post("/api/v1/login", json={"username": "ana", "password": PASSWORD})

        [everything] = pages(api, max_.headers)
        assert [e["action"] for e in everything] == [
            "login",
            "login",
            "maintenance.cancel",
            "maintenance.create",
            "incident.reclassify",
            "incident.ack",
            "incident.report",
        ]
        assert [e["outcome"] for e in everything[:2]] == ["ok", "refused"]
        reclassified = everything[4]
        assert (reclassified["actor"], reclassified["target"]) == ("max", f"incident:{incident_id}")
        assert reclassified["before"]["priority"] == "P2"
        assert reclassified["after"]["priority"] == "P1"
        assert reclassified["address"] == "testclient" and reclassified["method"] == "token"
        acked = everything[5]
        assert (acked["before"]["state"], acked["after"]["state"]) == ("open", "acknowledged")
        assert acked["after"]["acknowledged_by"] == "ana"

        incident_only = pages(api, max_.headers, action="incident", limit=2)
        assert [[e["action"] for e in page] for page in incident_only] == [
            ["incident.reclassify", "incident.ack"],
            ["incident.report"],
        ]
        by_ana = pages(api, max_.headers, actor="ana", outcome="ok")
        assert {e["action"] for page in by_ana for e in page} == {
            "incident.report",
            "incident.ack",
            "login",
        }
        target = pages(api, max_.headers, target=f"maintenance:{planned['id']}")
        assert [e["action"] for e in target[0]] == ["maintenance.cancel", "maintenance.create"]
        assert api.get("/api/v1/audit", headers=ana.headers).status_code == 403
        assert (
            api.get("/api/v1/audit", params={"cursor": "nope"}, headers=max_.headers).status_code
            == 400
        )


def test_people_and_token_changes_are_audited_without_secrets(
    make_app: AppFactory, database_url: str, query: Any
) -> None:
    root = add_account(database_url, "root", Role.ADMIN)
    with TestClient(make_app(**OFF_LOOPBACK)) as api:
        made = api.post(
            "/api/v1/users",
            json={"username": "bo", "role": "viewer", "password": "bo's long password"},
            headers=root.headers,
        )
        assert made.status_code == 201 and made.json()["has_password"] is True
        api.patch("/api/v1/users/bo", json={"role": "operator"}, headers=root.headers)
        issued = api.post(
            "/api/v1/tokens", json={"name": "bo-cli", "user": "bo"}, headers=root.headers
        ).json()
        api.delete(f"/api/v1/tokens/{issued['id']}", headers=root.headers)
        [events] = pages(api, root.headers)
        assert [e["action"] for e in events] == [
            "token.revoke",
            "token.create",
            "user.update",
            "user.create",
        ]
        assert (events[2]["before"]["role"], events[2]["after"]["role"]) == ("viewer", "operator")
        assert events[0]["after"]["active"] is False
    stored = " ".join(str(row) for row in query("SELECT * FROM audit_events"))
    assert issued["token"] not in stored and "bo's long password" not in stored
    [(hashed,)] = query("SELECT password_hash FROM accounts WHERE username = 'bo'")
    assert hashed.startswith("$argon2id$")


def test_the_session_cookie_is_secure_over_https(make_app: AppFactory, database_url: str) -> None:
    add_account(database_url, "ana", Role.OPERATOR)
    with TestClient(make_app(**OFF_LOOPBACK), base_url="https://slakeeper.example") as api:
        login = api.post("/api/v1/login", json={"username": "ana", "password": PASSWORD})
        assert "Secure" in login.headers["set-cookie"]
    behind_tls = {"trusted_proxies": "10.0.0.1", **OFF_LOOPBACK}
    with TestClient(make_app(**behind_tls), client=("10.0.0.1", 1)) as api:
        login = api.post(
            "/api/v1/login",
            json={"username": "ana", "password": PASSWORD},
            headers={"X-Forwarded-Proto": "https"},
        )
        assert "Secure" in login.headers["set-cookie"]
