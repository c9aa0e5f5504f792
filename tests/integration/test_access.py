"""People and access over HTTP: the actor is the credential, tokens, sessions, proxies."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from access.roles import Kind, Role
from tests.integration.conftest import AppFactory, Clock
from tests.integration.people import PASSWORD, add_account, bearer
from tests.integration.test_incident_api import INCIDENTS, REPORT

Query = Callable[[str], list[Any]]
OFF_LOOPBACK = {"host": "0.0.0.0"}


def open_incident(api: TestClient, headers: dict[str, str]) -> int:
    created = api.post(INCIDENTS, json=REPORT, headers=headers)
    assert created.status_code == 201, created.text
    incident_id: int = created.json()["id"]
    return incident_id


def test_a_body_naming_someone_else_is_refused_and_writes_nothing(
    make_app: AppFactory, database_url: str, query: Query
) -> None:
    ana = add_account(database_url, "ana", Role.OPERATOR)
    with TestClient(make_app(**OFF_LOOPBACK)) as api:
        incident_id = open_incident(api, ana.headers)
        before = query("SELECT count(*) FROM incident_events")[0][0]
        audited = query("SELECT count(*) FROM audit_events")[0][0]
        refused = api.post(
            f"{INCIDENTS}/{incident_id}/ack", json={"actor": "the director"}, headers=ana.headers
        )
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "forbidden"
        assert refused.json()["error"]["details"] == {"actor": "the director", "principal": "ana"}
        assert query("SELECT count(*) FROM incident_events")[0][0] == before
        assert query("SELECT count(*) FROM audit_events")[0][0] == audited
        assert query(f"SELECT state FROM incidents WHERE id = {incident_id}") == [("open",)]
        # Without `actor` (or naming oneself) the credential is the actor.
        done = api.post(f"{INCIDENTS}/{incident_id}/ack", json={}, headers=ana.headers)
        assert done.status_code == 200, done.text
        assert done.json()["acknowledged_by"] == "ana"
        timeline = api.get(f"{INCIDENTS}/{incident_id}", headers=ana.headers).json()["timeline"]
        assert [(e["kind"], e["actor"], e["via"]) for e in timeline] == [
            ("opened", "ana", None),
            ("acknowledged", "ana", None),
        ]


def test_a_service_account_allowed_to_relay_records_the_person_and_itself(
    make_app: AppFactory, database_url: str, query: Query
) -> None:
    bot = add_account(database_url, "chatops", Role.OPERATOR, kind=Kind.SERVICE, may_act_for=True)
    with TestClient(make_app(**OFF_LOOPBACK)) as api:
        incident_id = open_incident(api, bot.headers)
        done = api.post(
            f"{INCIDENTS}/{incident_id}/ack", json={"actor": "ana"}, headers=bot.headers
        )
        assert done.status_code == 200, done.text
        assert done.json()["acknowledged_by"] == "ana"
        [_, acked] = api.get(f"{INCIDENTS}/{incident_id}", headers=bot.headers).json()["timeline"]
        assert (acked["actor"], acked["via"]) == ("ana", "chatops")
    assert query(
        "SELECT actor, via, actor_kind, method, action, target FROM audit_events"
        " WHERE action = 'incident.ack'"
    ) == [("ana", "chatops", "service", "token", "incident.ack", f"incident:{incident_id}")]


def test_each_role_may_do_what_it_holds_and_no_more(
    make_app: AppFactory, database_url: str
) -> None:
    viewer = add_account(database_url, "vic", Role.VIEWER)
    operator = add_account(database_url, "ana", Role.OPERATOR)
    manager = add_account(database_url, "max", Role.MANAGER)
    with TestClient(make_app(**OFF_LOOPBACK)) as api:
        assert api.get(INCIDENTS, headers=viewer.headers).status_code == 200
        refused = api.post(INCIDENTS, json=REPORT, headers=viewer.headers)
        assert refused.status_code == 403
        assert "operator" in refused.json()["error"]["message"]
        incident_id = open_incident(api, operator.headers)
        change = {"priority": "P1"}
        path = f"{INCIDENTS}/{incident_id}"
        assert api.patch(path, json=change, headers=operator.headers).status_code == 403
        assert api.patch(path, json=change, headers=manager.headers).status_code == 200
        assert api.post("/-/reload", headers=manager.headers).status_code == 403
        assert api.get("/api/v1/audit", headers=operator.headers).status_code == 403
        assert api.get("/api/v1/audit", headers=manager.headers).status_code == 200


def test_off_loopback_reads_need_a_credential_but_the_probes_do_not(
    make_app: AppFactory,
) -> None:
    with TestClient(make_app(**OFF_LOOPBACK)) as api:
        for path in (
            INCIDENTS,
            "/api/v1/alerts",
            "/api/v1/services",
            "/api/v2/alerts",
            "/docs",
            "/openapi.json",
            "/api/v1/me",
        ):
            refused = api.get(path)
            assert refused.status_code == 401, path
            assert refused.json()["error"]["code"] == "unauthorized"
            assert "Bearer" in refused.headers["www-authenticate"]
        for path in ("/healthz", "/readyz", "/metrics"):
            assert api.get(path).status_code == 200, path
    with TestClient(make_app(metrics_need_credential=True, **OFF_LOOPBACK)) as api:
        assert api.get("/metrics").status_code == 401


def test_on_loopback_without_credentials_the_local_admin_acts_and_the_timeline_says_so(
    make_app: AppFactory, database_url: str
) -> None:
    with TestClient(make_app()) as api:
        me = api.get("/api/v1/me").json()
        assert (me["name"], me["kind"], me["role"], me["method"]) == (
            "local-admin",
            "local",
            "admin",
            "none",
        )
        incident_id = open_incident(api, {})
        api.post(f"{INCIDENTS}/{incident_id}/ack", json={"actor": "ana"})
        timeline = api.get(f"{INCIDENTS}/{incident_id}").json()["timeline"]
        assert [(e["actor"], e["via"]) for e in timeline] == [
            ("local-admin", None),
            ("ana", "local-admin"),
        ]
        # Once the first account exists, the door closes (this replica at once).
        response = api.post(
            "/api/v1/users", json={"username": "root", "role": "admin", "password": PASSWORD}
        )
        assert response.status_code == 201, response.text
        assert api.get(INCIDENTS).status_code == 401


def test_tokens_are_kept_only_as_hashes(
    make_app: AppFactory, database_url: str, query: Query
) -> None:
    admin = add_account(database_url, "root", Role.ADMIN)
    with TestClient(make_app(**OFF_LOOPBACK)) as api:
        issued = api.post(
            "/api/v1/tokens", json={"name": "grafana", "scope": "viewer"}, headers=admin.headers
        )
        assert issued.status_code == 201, issued.text
        assert issued.headers["cache-control"] == "no-store"
        text = issued.json()["token"]
        # 32 random bytes after the public prefix: 256 bits.
        assert text.startswith(issued.json()["prefix"]) and len(text) == 4 + 12 + 1 + 43
        assert api.get("/api/v1/me", headers=bearer(text)).json()["role"] == "viewer"
        listed = api.get("/api/v1/tokens", headers=admin.headers).json()["items"]
        assert all("token" not in item for item in listed)
    stored = query("SELECT * FROM api_tokens")
    assert len(stored) == 2
    # Each was used: the last use is noted (in the background, finished at shutdown).
    assert [used is not None for (used,) in query("SELECT last_used_at FROM api_tokens")] == [
        True,
        True,
    ]
    for row in stored:
        assert text not in [str(value) for value in row]
        assert admin.token not in [str(value) for value in row]
        assert not any(admin.token[17:] in str(value) for value in row)


def test_revoked_expired_and_disabled_tokens_are_refused(
    make_app: AppFactory, database_url: str, clock: Clock
) -> None:
    admin = add_account(database_url, "root", Role.ADMIN)
    later = clock.now + timedelta(hours=1)
    temp = add_account(database_url, "temp", Role.VIEWER, expires_at=later, now=clock.now)
    gone = add_account(database_url, "gone", Role.VIEWER)
    with TestClient(make_app(**OFF_LOOPBACK)) as api:
        assert api.get(INCIDENTS, headers=temp.headers).status_code == 200
        clock.advance(hours=1)
        assert api.get(INCIDENTS, headers=temp.headers).status_code == 401
        assert api.get(INCIDENTS, headers=gone.headers).status_code == 200
        revoked = api.delete(f"/api/v1/tokens/{gone.token_id}", headers=admin.headers)
        assert revoked.status_code == 200 and revoked.json()["active"] is False
        assert api.get(INCIDENTS, headers=gone.headers).status_code == 401
        disabled = api.patch("/api/v1/users/root", json={"active": False}, headers=admin.headers)
        assert disabled.status_code == 200
        assert api.get(INCIDENTS, headers=admin.headers).status_code == 401
        forged = admin.token[:-4] + "AAAA"
        assert api.get(INCIDENTS, headers=bearer(forged)).status_code == 401


def test_a_person_manages_their_own_tokens_only(make_app: AppFactory, database_url: str) -> None:
    ana = add_account(database_url, "ana", Role.OPERATOR)
    bo = add_account(database_url, "bo", Role.OPERATOR)
    with TestClient(make_app(**OFF_LOOPBACK)) as api:
        mine = api.get("/api/v1/tokens", headers=ana.headers).json()["items"]
        assert [item["user"] for item in mine] == ["ana"]
        assert api.delete(f"/api/v1/tokens/{bo.token_id}", headers=ana.headers).status_code == 403
        more = api.post("/api/v1/tokens", json={"name": "x", "scope": "admin"}, headers=ana.headers)
        assert more.status_code == 422 and more.json()["error"]["details"] == {"field": "scope"}
        other = api.post("/api/v1/tokens", json={"name": "x", "user": "bo"}, headers=ana.headers)
        assert other.status_code == 403
        assert api.delete(f"/api/v1/tokens/{ana.token_id}", headers=ana.headers).status_code == 200
        assert api.get("/api/v1/me", headers=ana.headers).status_code == 401


def test_configured_tokens_keep_working_as_service_accounts(make_app: AppFactory) -> None:
    ingest, admin = "ingest-token-0123456789", "api-token-0123456789"
    with TestClient(make_app(ingest_tokens=ingest, api_tokens=admin, **OFF_LOOPBACK)) as api:
        me = api.get("/api/v1/me", headers=bearer(admin)).json()
        assert me["kind"] == "configured" and me["role"] == "admin" and me["may_act_for"]
        assert me["name"].startswith("api-token-") and admin not in me["name"]
        push = api.post(
            "/api/v2/alerts", json=[{"labels": {"alertname": "X"}}], headers=bearer(ingest)
        )
        assert push.status_code == 200
        assert api.get(INCIDENTS, headers=bearer(ingest)).status_code == 403
        assert api.post("/api/v2/alerts", json=[], headers=bearer(admin)).status_code == 403
