"""`/openapi.json` documents what every route answers: its body, and the errors it can give."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from slakeeper.app import create_app
from slakeeper.settings import Settings
from tests.integration.conftest import Clock

# Successes without a body: Prometheus' push (answered as Alertmanager answers it), logout.
EMPTY_SUCCESS = {("post", "/api/v2/alerts"), ("post", "/api/v1/logout")}
# Routes that read no table: everything else may meet a database outage (503).
# (A credential may be a token or a session in the database: every guarded route may meet one.)
NO_DATABASE = {("get", "/healthz")}
# Routes anyone may call: everything else needs a credential (401) and a role (403).
OPEN = {("get", "/healthz"), ("get", "/readyz"), ("post", "/api/v1/login")}
API_TOKEN = "api-token-0123456789"
NOT_JSON = {("get", "/metrics"): "text/plain"}
# Where a value the request's shape allows can still be refused on its meaning (422).
UNPROCESSABLE = {
    ("post", "/api/v1/webhooks/alertmanager"),
    ("post", "/api/v1/webhooks/grafana"),
    ("post", "/api/v1/incidents"),
    ("patch", "/api/v1/incidents/{incident_id}"),
    ("get", "/api/v1/services/{name}/availability"),
    ("get", "/api/v1/maintenance"),
    ("post", "/api/v1/maintenance"),
    ("get", "/api/v1/reports/availability"),
    ("get", "/api/v1/months/{month}"),
    ("post", "/api/v1/months/{month}/close"),
    ("post", "/api/v1/months/{month}/reopen"),
    ("post", "/api/v1/months/{month}/adjustments"),
    ("post", "/api/v1/months/{month}/adjustments/{adjustment_id}/approve"),
    ("post", "/api/v1/months/{month}/adjustments/{adjustment_id}/reject"),
    ("post", "/api/v1/months/{month}/disputes"),
    ("post", "/api/v1/months/{month}/disputes/{dispute_id}/resolve"),
    ("post", "/-/reload"),
    ("post", "/api/v1/users"),
    ("patch", "/api/v1/users/{username}"),
    ("post", "/api/v1/tokens"),
    ("put", "/api/v1/rotations/{name}"),
    ("post", "/api/v1/rotations/{name}/overrides"),
}
INGEST = {
    ("post", "/api/v1/webhooks/alertmanager"),
    ("post", "/api/v1/webhooks/grafana"),
    ("post", "/api/v2/alerts"),
}


@pytest.fixture
def api(sqlite_template: Path, tmp_path: Path, clock: Clock) -> Iterator[TestClient]:
    # What is documented does not depend on the database: SQLite alone is enough.
    target = tmp_path / "slakeeper.db"
    shutil.copy(sqlite_template, target)
    settings = Settings(
        database_url=f"sqlite:///{target}",
        api_tokens=API_TOKEN,
        ingest_tokens="ingest-token-0123456789",
        metrics_need_credential=True,
    )
    with TestClient(create_app(settings, clock=clock)) as client:
        yield client


@pytest.fixture
def schema(api: TestClient) -> dict[str, Any]:
    document: dict[str, Any] = api.get(
        "/openapi.json", headers={"Authorization": f"Bearer {API_TOKEN}"}
    ).json()
    return document


def operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield method, path, operation


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def success(operation: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    [(status, response)] = [(s, r) for s, r in operation["responses"].items() if s[0] == "2"]
    return status, response


def test_every_operation_is_found(schema: dict[str, Any]) -> None:
    assert len(list(operations(schema))) > 20


def test_every_json_success_has_a_schema_of_its_body(schema: dict[str, Any]) -> None:
    for method, path, operation in operations(schema):
        status, response = success(operation)
        where = f"{method.upper()} {path} {status}"
        if (method, path) in EMPTY_SUCCESS:
            assert "content" not in response, where
            continue
        if (method, path) in NOT_JSON:
            assert set(response["content"]) == {NOT_JSON[method, path]}, where
            continue
        body = resolve(schema, response["content"]["application/json"]["schema"])
        if body.get("type") == "array":
            body = resolve(schema, body["items"])
        assert body.get("type") == "object" and body["properties"], where


def test_the_report_documents_its_csv_html_and_pdf_too(schema: dict[str, Any]) -> None:
    _, response = success(schema["paths"]["/api/v1/reports/availability"]["get"])
    assert set(response["content"]) == {
        "application/json",
        "text/csv",
        "text/html",
        "application/pdf",
    }
    report = resolve(schema, response["content"]["application/json"]["schema"])
    assert {"from", "to", "summary", "services", "breaches"} <= set(report["properties"])


def test_every_error_has_the_one_error_body(schema: dict[str, Any]) -> None:
    error_body = schema["components"]["schemas"]["ErrorBody"]
    content = resolve(schema, error_body["properties"]["error"])
    assert content["required"] == ["code", "message", "details"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for method, path, operation in operations(schema):
        for status, response in operation["responses"].items():
            if status[0] in "45":
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorBody"), f"{method.upper()} {path} {status}"


def test_every_operation_declares_the_errors_it_can_answer(schema: dict[str, Any]) -> None:
    for method, path, operation in operations(schema):
        declared = set(operation["responses"])
        where = f"{method.upper()} {path}"
        # Every endpoint refuses an unknown query parameter.
        assert "400" in declared, where
        if (method, path) not in NO_DATABASE:
            assert "503" in declared, where
        if (method, path) not in OPEN:
            assert {"401", "403"} <= declared, where
        if "{" in path:
            assert "404" in declared, where
        assert ("422" in declared) == ((method, path) in UNPROCESSABLE), where
        if (method, path) in INGEST:
            assert {"413", "415"} <= declared, where


def test_every_route_documented_as_guarded_is_refused_without_a_credential(
    api: TestClient, schema: dict[str, Any]
) -> None:
    guarded = [
        (m, p)
        for m, p, operation in operations(schema)
        if "401" in operation["responses"] and (m, p) not in OPEN
    ]
    assert len(guarded) > 30
    for method, path in guarded:
        url = path.format(
            incident_id=1,
            window_id=1,
            token_id=1,
            override_id=1,
            username="ana",
            name="x",
            month="2026-10",
            adjustment_id=1,
            dispute_id=1,
        )
        response = api.request(method, url, json={})
        assert response.status_code == 401, f"{method.upper()} {path}: {response.text}"
        assert response.json()["error"]["code"] == "unauthorized"
    unguarded = {(m, p) for m, p, _ in operations(schema)} - set(guarded)
    assert unguarded == OPEN


def test_every_guarded_operation_declares_how_to_authenticate(schema: dict[str, Any]) -> None:
    schemes = schema["components"]["securitySchemes"]
    assert {schemes[name]["type"] for name in schemes} == {"http", "apiKey"}
    for method, path, operation in operations(schema):
        guarded = (method, path) not in OPEN and path != "/metrics"
        assert ("security" in operation) == guarded, f"{method.upper()} {path}"
