"""Every route of `/openapi.json` × every kind of caller: who gets in, who gets 401 or 403.

The table below is the access rule of each route. A route in the document that is not in
the table fails the first test, so no route ships without a rule; the second sends each
route's request as each caller and checks the answer against the rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from access.roles import Kind, Role
from tests.integration.conftest import AppFactory
from tests.integration.people import Person, add_account
from tests.integration.test_incident_api import INCIDENTS, REPORT

# What each route requires. `self`: an admin, or the account the path names (the test names
# another's, so only an admin gets in). `metrics`: anyone unless configured otherwise.
RULES = {
    "GET /api/v1/me": "viewer",
    "POST /api/v1/login": "anyone",
    "POST /api/v1/logout": "viewer",
    "GET /api/v1/audit": "manager",
    "GET /api/v1/users": "admin",
    "POST /api/v1/users": "admin",
    "GET /api/v1/users/{username}": "self",
    "PATCH /api/v1/users/{username}": "self",
    "GET /api/v1/tokens": "viewer",
    "POST /api/v1/tokens": "viewer",
    "DELETE /api/v1/tokens/{token_id}": "self",
    "POST /api/v1/webhooks/alertmanager": "ingest",
    "POST /api/v1/webhooks/grafana": "ingest",
    "POST /api/v2/alerts": "ingest",
    "GET /api/v1/alerts": "viewer",
    "GET /api/v2/alerts": "viewer",
    "GET /api/v2/status": "viewer",
    "GET /api/v1/incidents": "viewer",
    "GET /api/v1/incidents/{incident_id}": "viewer",
    "POST /api/v1/incidents": "operator",
    "POST /api/v1/incidents/{incident_id}/ack": "operator",
    "POST /api/v1/incidents/{incident_id}/resolve": "operator",
    "POST /api/v1/incidents/{incident_id}/close": "operator",
    "POST /api/v1/incidents/{incident_id}/reopen": "operator",
    "POST /api/v1/incidents/{incident_id}/notes": "operator",
    "PATCH /api/v1/incidents/{incident_id}": "manager",
    "GET /api/v1/services": "viewer",
    "GET /api/v1/services/{name}/availability": "viewer",
    "GET /api/v1/maintenance": "viewer",
    "POST /api/v1/maintenance": "manager",
    "DELETE /api/v1/maintenance/{window_id}": "manager",
    "GET /api/v1/reports/availability": "viewer",
    "GET /api/v1/months/{month}": "viewer",
    "POST /api/v1/months/{month}/close": "manager",
    "POST /api/v1/months/{month}/reopen": "manager",
    "GET /api/v1/months/{month}/adjustments": "viewer",
    "POST /api/v1/months/{month}/adjustments": "manager",
    "POST /api/v1/months/{month}/adjustments/{adjustment_id}/approve": "manager",
    "POST /api/v1/months/{month}/adjustments/{adjustment_id}/reject": "manager",
    "POST /api/v1/months/{month}/disputes": "manager",
    "POST /api/v1/months/{month}/disputes/{dispute_id}/resolve": "manager",
    "GET /api/v1/oncall": "viewer",
    "GET /api/v1/rotations": "viewer",
    "GET /api/v1/rotations/{name}": "viewer",
    "PUT /api/v1/rotations/{name}": "manager",
    "DELETE /api/v1/rotations/{name}": "manager",
    "GET /api/v1/rotations/{name}/overrides": "viewer",
    "POST /api/v1/rotations/{name}/overrides": "operator",
    "DELETE /api/v1/rotations/{name}/overrides/{override_id}": "operator",
    "POST /-/reload": "admin",
    "GET /healthz": "anyone",
    "GET /readyz": "anyone",
    "GET /metrics": "metrics",
}
CALLERS = ["nobody", "ingest", "viewer", "operator", "manager", "admin"]
_RANK = {"viewer": 1, "operator": 2, "manager": 3, "admin": 4}


def expected(rule: str, caller: str) -> set[int] | None:
    """The statuses `caller` must get for a route of `rule`; None: it gets in."""
    if rule in ("anyone", "metrics"):
        return None
    needed = "admin" if rule == "self" else rule
    if caller == "nobody":
        return {401}
    if needed == "ingest":
        return None if caller == "ingest" else {403}
    if caller == "ingest" or _RANK[caller] < _RANK[needed]:
        return {403}
    return None


class Setup:
    def __init__(self, api: TestClient, callers: dict[str, Person], bystander: Person) -> None:
        self.api = api
        self.callers = callers
        self.bystander = bystander
        admin = callers["admin"].headers
        self.incident_id = api.post(INCIDENTS, json=REPORT, headers=admin).json()["id"]
        window = api.post(
            "/api/v1/maintenance",
            json={
                "service": "payments",
                "start": "2026-11-25T01:00:00Z",
                "end": "2026-11-25T02:00:00Z",
            },
            headers=admin,
        )
        assert window.status_code == 201, window.text
        self.window_id = window.json()["id"]

    def path(self, template: str) -> str:
        return template.format(
            incident_id=self.incident_id,
            username=self.bystander.username,
            token_id=self.bystander.token_id,
            window_id=self.window_id,
            override_id=1,
            name="payments",
            month="2026-10",
            adjustment_id=1,
            dispute_id=1,
        )


@pytest.fixture
def setup(make_app: AppFactory, database_url: str) -> Iterator[Setup]:
    callers = {role.value: add_account(database_url, f"the-{role.value}", role) for role in Role}
    callers["ingest"] = add_account(
        database_url, "alertmanager", None, kind=Kind.SERVICE, may_ingest=True, scope="ingest"
    )
    bystander = add_account(database_url, "bystander", Role.VIEWER)
    with TestClient(make_app(host="0.0.0.0")) as api:
        yield Setup(api, callers, bystander)


def operations(api: TestClient, headers: dict[str, str]) -> Iterator[tuple[str, str]]:
    document: dict[str, Any] = api.get("/openapi.json", headers=headers).json()
    for path, item in document["paths"].items():
        for method in item:
            yield method.upper(), path


def test_every_route_in_the_document_has_an_access_rule(setup: Setup) -> None:
    documented = {f"{m} {p}" for m, p in operations(setup.api, setup.callers["admin"].headers)}
    assert documented - set(RULES) == set(), "routes without a rule in RULES"
    assert set(RULES) - documented == set(), "rules for routes that no longer exist"


def test_each_caller_gets_in_exactly_where_its_role_allows(setup: Setup) -> None:
    problems = []
    seen = 0
    for method, template in operations(setup.api, setup.callers["admin"].headers):
        rule = RULES[f"{method} {template}"]
        for caller in CALLERS:
            headers = {} if caller == "nobody" else setup.callers[caller].headers
            body: dict[str, Any] | None = None if method in ("GET", "DELETE") else {}
            response = setup.api.request(method, setup.path(template), json=body, headers=headers)
            seen += 1
            wanted = expected(rule, caller)
            status = response.status_code
            if wanted is None and (status in (401, 403) or status >= 500):
                problems.append(f"{caller} {method} {template}: {status} {response.text[:120]}")
            elif wanted is not None and status not in wanted:
                problems.append(f"{caller} {method} {template}: {status}, not {wanted}")
            if status == 401:
                assert "www-authenticate" in response.headers
    assert not problems, "\n".join(problems)
    assert seen == len(RULES) * len(CALLERS)
