"""Ingest credentials and settings as an operator writes them."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from core.auth import presented_token, token_accepted
from slakeeper.settings import exposure_problem, is_loopback, load_settings


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


def test_only_configured_tokens_are_accepted() -> None:
    assert token_accepted("two", ["one", "two"])
    assert not token_accepted("three", ["one", "two"])
    assert not token_accepted(None, ["one"])
    assert not token_accepted("", ["one"])


def test_tokens_come_from_a_comma_separated_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLAKEEPER_INGEST_TOKENS", " alpha, beta ,,")
    settings = load_settings()
    assert settings.ingest_token_values() == ["alpha", "beta"]
    assert "alpha" not in repr(settings)


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


def test_off_loopback_without_tokens_is_refused_unless_insecure() -> None:
    exposed = load_settings(host="0.0.0.0", ingest_tokens="", api_tokens="")
    problem = exposure_problem(exposed, insecure=False)
    assert problem is not None
    assert "SLAKEEPER_INGEST_TOKENS" in problem and "SLAKEEPER_API_TOKENS" in problem
    assert exposure_problem(exposed, insecure=True) is None


def test_off_loopback_with_ingest_tokens_only_is_refused_because_writes_are_open() -> None:
    exposed = load_settings(host="0.0.0.0", ingest_tokens="t", api_tokens="")
    problem = exposure_problem(exposed, insecure=False)
    assert problem is not None and "SLAKEEPER_API_TOKENS" in problem
    assert "SLAKEEPER_INGEST_TOKENS" not in problem


def test_off_loopback_with_tokens_or_on_loopback_is_allowed() -> None:
    with_tokens = load_settings(host="0.0.0.0", ingest_tokens="t", api_tokens="a")
    on_loopback = load_settings(host="127.0.0.1", ingest_tokens="")
    assert exposure_problem(with_tokens, insecure=False) is None
    assert exposure_problem(on_loopback, insecure=False) is None
