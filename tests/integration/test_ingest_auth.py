"""With ingest tokens configured, pushes need a bearer token or basic auth carrying one."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.integration.conftest import AppFactory
from tests.integration.payloads import webhook

PATHS = ["/api/v1/webhooks/alertmanager", "/api/v2/alerts", "/api/v1/webhooks/grafana"]


@pytest.fixture
def guarded(make_app: AppFactory) -> Iterator[TestClient]:
    with TestClient(
        make_app(ingest_tokens="first-token-0123456789,second-token-0123456789")
    ) as client:
        yield client


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong", "Basic " + base64.b64encode(b"am:wrong").decode()]
)
def test_pushes_without_a_valid_token_are_a_401_and_store_nothing(
    guarded: TestClient, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = guarded.post(path, json=webhook(), headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert "Bearer" in response.headers["www-authenticate"]
    assert guarded.get("/api/v1/alerts").json()["items"] == []


def test_a_bearer_token_is_accepted(guarded: TestClient) -> None:
    response = guarded.post(
        PATHS[0], json=webhook(), headers={"Authorization": "Bearer second-token-0123456789"}
    )
    assert response.status_code == 200
    assert len(guarded.get("/api/v1/alerts").json()["items"]) == 1


def test_basic_auth_with_a_token_as_password_is_accepted(guarded: TestClient) -> None:
    credentials = base64.b64encode(b"alertmanager:first-token-0123456789").decode()
    response = guarded.post(
        PATHS[0], json=webhook(), headers={"Authorization": f"Basic {credentials}"}
    )
    assert response.status_code == 200


def test_the_token_is_checked_before_the_body(guarded: TestClient) -> None:
    response = guarded.post(
        PATHS[0], content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401


def test_without_tokens_configured_loopback_pushes_need_none(client: TestClient) -> None:
    assert client.post(PATHS[0], json=webhook()).status_code == 200
