"""Ingest credentials and settings as an operator writes them."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from access.roles import Role
from core.auth import presented_token
from slakeeper.principals import access_config
from slakeeper.settings import is_loopback, load_settings


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_a_bearer_token_is_read_from_the_header() -> None:
    assert presented_token("Bearer s3cret") == "s3cret"
    assert presented_token("bearer   s3cret ") == "s3cret"


def test_basic_auth_presents_its_password_as_the_token() -> None:
    assert presented_token(basic("alertmanager", "s3cret")) == "s3cret"
    assert presented_token(basic("alertmanager", "pa:ss")) == "pa:ss"


@pytest.mark.parametrize(
    "header", [None, "", "Bearer", "Token s3cret", "Basic !!!", basic("user", ""), "Basic dXNlcg=="]
)
def test_headers_without_a_token_present_none(header: str | None) -> None:
    assert presented_token(header) is None


def test_tokens_come_from_a_comma_separated_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLAKEEPER_INGEST_TOKENS", " alpha-0123456789, beta-00123456789 ,,")
    settings = load_settings()
    assert settings.ingest_token_values() == ["alpha-0123456789", "beta-00123456789"]
    assert "alpha" not in repr(settings)


@pytest.mark.parametrize("variable", ["SLAKEEPER_INGEST_TOKENS", "SLAKEEPER_API_TOKENS"])
def test_a_configured_token_shorter_than_16_characters_is_refused(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "long-enough-token-0001,a")
    with pytest.raises(ValidationError, match="at least 16 characters") as refused:
        load_settings()
    # The refusal does not repeat the token.
    assert "long-enough-token-0001" not in str(refused.value)
    monkeypatch.setenv(variable, "exactly-16-chars")
    assert load_settings()


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    assert load_settings(trusted_proxies="10.0.0.0/8, 127.0.0.1").trusted_proxies == [
        "10.0.0.0/8",
        "127.0.0.1",
    ]
    with pytest.raises(ValidationError, match="not an IP address"):
        load_settings(trusted_proxies="proxy.example")


def test_defaults_bind_to_loopback_on_an_embedded_database(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SLAKEEPER_HOST", "SLAKEEPER_PORT", "SLAKEEPER_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.database_url.startswith("sqlite:///")
    assert settings.max_body_bytes == 10 * 1024 * 1024


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValidationError, match="time zone"):
        load_settings(timezone="Mars/Olympus")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.1.2.3", False),
        ("example.org", False),
    ],
)
def test_loopback_addresses_are_recognised(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("host", "insecure", "anonymous"),
    [("127.0.0.1", False, True), ("0.0.0.0", False, False), ("0.0.0.0", True, True)],
)
def test_requests_without_credentials_may_get_in_on_loopback_or_with_insecure_only(
    host: str, insecure: bool, anonymous: bool
) -> None:
    assert access_config(load_settings(host=host, insecure=insecure)).anonymous is anonymous


def test_configured_tokens_become_service_accounts_named_by_digest() -> None:
    ingest, api = "ingest-token-0123456789", "api-token-0123456789"
    config = access_config(load_settings(ingest_tokens=ingest, api_tokens=api))
    principals = sorted(config.configured.values(), key=lambda p: p.name)
    assert [(p.role, p.may_ingest, p.may_act_for) for p in principals] == [
        (Role.ADMIN, False, True),
        (None, True, False),
    ]
    assert all(ingest not in p.name and api not in p.name for p in principals)
