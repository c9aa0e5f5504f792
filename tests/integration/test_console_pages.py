"""The console's incident, service, maintenance, report and token pages, as a browser asks for
them: each form posts with the session's CSRF field, and what the server refuses is shown in
the page with the API's status and reason."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi.testclient import TestClient

from access.roles import Kind, Role
from tests.conftest import FIXTURES
from tests.integration.conftest import AppFactory, Clock
from tests.integration.payloads import webhook_alert, webhook_with
from tests.integration.people import add_account
from tests.integration.test_console import FORM, OFF_LOOPBACK, sign_in
from tests.integration.test_incident_api import INCIDENTS, REPORT

EXAMPLE = FIXTURES / "example_rules.yaml"


def csrf_of(page: str) -> str:
    return page.split('name="csrf_token" value="')[1].split('"')[0]


def post_form(api: TestClient, path: str, fields: dict[str, str]) -> httpx.Response:
    token = csrf_of(api.get("/").text)
    answer: httpx.Response = api.post(
        path,
        data={**fields, "csrf_token": token},
        headers=FORM,
        follow_redirects=False,
    )
    return answer


def incident_state(api: TestClient, incident_id: int, headers: dict[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = api.get(f"{INCIDENTS}/{incident_id}", headers=headers).json()
    return found


def test_an_operator_acknowledges_resolves_and_closes_from_the_incident_page(
    make_app: AppFactory, database_url: str, clock: Clock
) -> None:
    ana = add_account(database_url, "ana", Role.OPERATOR)
    with TestClient(make_app(rules=EXAMPLE, **OFF_LOOPBACK)) as api:
        alert = webhook_alert("DiskFull", severity="critical", service="payments")
        alert["annotations"]["runbook_url"] = "https://runbooks.example/diskfull"
        other = webhook_alert("DiskFull", severity="critical", service="payments", disk="b")
        other["annotations"]["runbook_url"] = "javascript:alert(1)"
        am = add_account(database_url, "am", None, kind=Kind.SERVICE, may_ingest=True)
        pushed = api.post(
            "/api/v1/webhooks/alertmanager", json=webhook_with(alert, other), headers=am.headers
        )
        assert pushed.status_code == 200, pushed.text
        [incident] = api.get(INCIDENTS, headers=ana.headers).json()["items"]
        sign_in(api)
        page = api.get(f"/incidents/{incident['id']}")
        assert page.status_code == 200
        assert "2 alerts" in page.text and "alertname=DiskFull" in page.text
        assert 'href="http://prometheus.local/graph"' in page.text
        assert 'href="https://runbooks.example/diskfull"' in page.text
        assert 'href="javascript:' not in page.text
        assert 'data-clock="response" data-status="running"' in page.text
        assert f'action="/incidents/{incident["id"]}/ack"' in page.text
        clock.advance(minutes=5)
        done = post_form(api, f"/incidents/{incident['id']}/ack", {"note": "on it"})
        assert done.status_code == 303, done.text
        assert done.headers["location"] == f"/incidents/{incident['id']}#timeline"
        after = api.get(f"/incidents/{incident['id']}").text
        assert 'data-clock="response" data-status="stopped"' in after
        assert "stopped after 5 min: met" in after
        acked = re.search(r'<li data-kind="acknowledged">(.*?)</li>', after, re.S)
        assert acked is not None and "ana" in acked[1] and "on it" in acked[1]
        assert incident_state(api, incident["id"], ana.headers)["acknowledged_by"] == "ana"
        # A stale page: acknowledging again is refused with the server's reason, in the page.
        again = post_form(api, f"/incidents/{incident['id']}/ack", {})
        assert again.status_code == 409 and 'role="alert"' in again.text
        assert "invalid_transition" in again.text and "text/html" in again.headers["content-type"]
        assert post_form(api, f"/incidents/{incident['id']}/resolve", {}).status_code == 303
        # Closing asks who confirmed; without it nothing changes.
        unconfirmed = post_form(api, f"/incidents/{incident['id']}/close", {})
        assert unconfirmed.status_code == 422 and "confirmed_by" in unconfirmed.text
        assert incident_state(api, incident["id"], ana.headers)["state"] == "resolved"
        closed = post_form(
            api, f"/incidents/{incident['id']}/close", {"confirmed_by": "Li Wei (customer)"}
        )
        assert closed.status_code == 303
        final = incident_state(api, incident["id"], ana.headers)
        assert final["state"] == "closed" and final["closed_by"] == "Li Wei (customer)"
        audit = api.get(
            "/api/v1/audit", headers=add_account(database_url, "root", Role.ADMIN).headers
        ).json()["items"]
        assert {"incident.ack", "incident.resolve", "incident.close"} <= {
            item["action"] for item in audit if item["actor"] == "ana"
        }


def test_a_viewer_sees_no_action_and_a_forged_action_is_refused_and_changes_nothing(
    make_app: AppFactory, database_url: str
) -> None:
    ana = add_account(database_url, "ana", Role.OPERATOR)
    add_account(database_url, "vic", Role.VIEWER)
    with TestClient(make_app(rules=EXAMPLE, **OFF_LOOPBACK)) as api:
        made = api.post(INCIDENTS, json=REPORT, headers=ana.headers).json()
        sign_in(api, "vic")
        page = api.get(f"/incidents/{made['id']}").text
        assert "<form" in page  # the logout form
        assert f'action="/incidents/{made["id"]}/' not in page
        assert page.count("<button") == 1 and "Reclassify" not in page  # only "Log out"
        forged = post_form(api, f"/incidents/{made['id']}/ack", {})
        assert forged.status_code == 403 and "the operator role or above" in forged.text
        # Without the session's CSRF field, even an operator's post is refused.
        api.cookies.clear()
        sign_in(api, "ana")
        no_csrf = api.post(
            f"/incidents/{made['id']}/ack", data={}, headers=FORM, follow_redirects=False
        )
        assert no_csrf.status_code == 403
        assert incident_state(api, made["id"], ana.headers)["state"] == "open"
        # An operator may not reclassify: a manager may.
        refused = post_form(api, f"/incidents/{made['id']}/reclassify", {"priority": "P1"})
        assert refused.status_code == 403
        assert (
            f'action="/incidents/{made["id"]}/reclassify"'
            not in api.get(f"/incidents/{made['id']}").text
        )
        assert incident_state(api, made["id"], ana.headers)["priority"] == "P2"


def test_a_manager_reclassifies_and_the_timeline_shows_before_and_after(
    make_app: AppFactory, database_url: str
) -> None:
    ana = add_account(database_url, "ana", Role.OPERATOR)
    add_account(database_url, "max", Role.MANAGER)
    with TestClient(make_app(rules=EXAMPLE, **OFF_LOOPBACK)) as api:
        made = api.post(INCIDENTS, json=REPORT, headers=ana.headers).json()
        sign_in(api, "max")
        unknown = post_form(api, f"/incidents/{made['id']}/reclassify", {"priority": "P9"})
        assert unknown.status_code == 422 and "P9" in unknown.text
        nothing = post_form(api, f"/incidents/{made['id']}/reclassify", {})
        assert nothing.status_code == 422 and "nothing to change" in nothing.text
        done = post_form(
            api, f"/incidents/{made['id']}/reclassify", {"priority": "P1", "note": "VIP customer"}
        )
        assert done.status_code == 303
        page = api.get(f"/incidents/{made['id']}").text
        entry = re.search(r'<li data-kind="reclassified">(.*?)</li>', page, re.S)
        assert entry is not None and "priority: P2 → P1" in entry[1] and "max" in entry[1]
        assert incident_state(api, made["id"], ana.headers)["priority"] == "P1"
        missing = api.get("/incidents/999999")
        assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]


def test_reporting_a_phoned_in_incident_from_the_form(
    make_app: AppFactory, database_url: str, clock: Clock
) -> None:
    ana = add_account(database_url, "ana", Role.OPERATOR)
    add_account(database_url, "vic", Role.VIEWER)
    with TestClient(make_app(rules=EXAMPLE, timezone="Europe/Berlin", **OFF_LOOPBACK)) as api:
        sign_in(api, "vic")
        assert 'action="/incidents/new"' not in api.get("/incidents/new").text
        refused = post_form(api, "/incidents/new", {**REPORT})
        assert refused.status_code == 403
        api.cookies.clear()
        sign_in(api, "ana")
        form = api.get("/incidents/new").text
        assert '<label for="reporter">' in form and '<option value="phone"' in form
        bad = post_form(api, "/incidents/new", {**REPORT, "priority": "P9"})
        assert bad.status_code == 422 and "P9" in bad.text
        assert 'value="Customers cannot pay by card"' in bad.text  # what was typed is kept
        future = post_form(api, "/incidents/new", {**REPORT, "started_at": "2030-01-01T10:00"})
        assert future.status_code == 422 and "future" in future.text
        assert api.get(INCIDENTS, headers=ana.headers).json()["items"] == []
        # 23:00 UTC is 00:00 in Berlin: the start typed at 23:30 Berlin time is 22:30 UTC.
        made = post_form(api, "/incidents/new", {**REPORT, "started_at": "2026-11-21T23:30"})
        assert made.status_code == 303, made.text
        [incident] = api.get(INCIDENTS, headers=ana.headers).json()["items"]
        assert made.headers["location"] == f"/incidents/{incident['id']}"
        assert incident["source"] == "manual" and incident["channel"] == "phone"
        assert incident["started_at"] == "2026-11-21T22:30:00Z"
        assert incident["reporter"] == "Li Wei (customer)"
