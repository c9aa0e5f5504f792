"""The pure parts of access: roles, acting for someone, trusted proxies, token shapes."""

from __future__ import annotations

import hmac

import pytest

from access import credentials
from access.credentials import (
    configured_token_name,
    digest,
    hash_password,
    new_token,
    token_lookup,
    verify_password,
)
from access.proxies import TrustedProxies
from access.roles import LOCAL_ADMIN, ActingRefused, Kind, Principal, Role, acting, allows, lesser

ANA = Principal("ana", Kind.PERSON, Role.OPERATOR, "token")
BOT = Principal("chatops", Kind.SERVICE, Role.OPERATOR, "token", may_act_for=True)


def test_each_role_holds_those_below_it() -> None:
    assert [role.value for role in Role] == ["viewer", "operator", "manager", "admin"]
    assert allows(ANA, Role.VIEWER) and allows(ANA, Role.OPERATOR)
    assert not allows(ANA, Role.MANAGER)
    tool = Principal("am", Kind.SERVICE, None, "token", may_ingest=True)
    assert not allows(tool, Role.VIEWER)
    assert lesser(Role.ADMIN, Role.VIEWER) is Role.VIEWER
    assert lesser(Role.MANAGER, None) is None


def test_the_actor_is_the_principal_unless_it_may_act_for_others() -> None:
    assert acting(ANA, None).actor == "ana" and acting(ANA, None).via is None
    assert acting(ANA, "ana").via is None
    with pytest.raises(ActingRefused, match="may not act as 'the director'"):
        acting(ANA, "the director")
    relayed = acting(BOT, "ana")
    assert (relayed.actor, relayed.via) == ("ana", "chatops")
    assert acting(LOCAL_ADMIN, "ana").via == "local-admin"


def test_the_caller_s_address_is_believed_from_trusted_proxies_only() -> None:
    proxies = TrustedProxies(["10.0.0.0/24", "::1"])
    assert proxies.trusts("10.0.0.9") and proxies.trusts("::1")
    assert not proxies.trusts("10.0.1.1") and not proxies.trusts("testclient")
    assert not proxies.trusts(None)
    assert proxies.client("10.0.0.9", "203.0.113.5, 10.0.0.3") == "203.0.113.5"
    assert proxies.client("192.0.2.1", "203.0.113.5") == "192.0.2.1"
    assert proxies.client("10.0.0.9", None) == "10.0.0.9"
    # A client cannot slip an address in front of the one the proxy appended.
    assert proxies.client("10.0.0.9", "1.2.3.4, 198.51.100.7") == "198.51.100.7"
    assert TrustedProxies([]).client("10.0.0.9", "203.0.113.5") == "10.0.0.9"


def test_generated_tokens_carry_256_random_bits_and_a_public_lookup() -> None:
    tokens = [new_token() for _ in range(200)]
    assert len({token.text for token in tokens}) == 200
    for token in tokens[:20]:
        assert token_lookup(token.text) == token.lookup
        assert token.hash == digest(token.text) and token.text not in token.hash
        secret = token.text.split("_", 2)[2]
        assert len(secret) == 43  # base64 of 32 bytes
    assert token_lookup("slk_short") is None
    assert token_lookup(tokens[0].text + "x") is None


def test_hashes_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    original = hmac.compare_digest

    def spy(first: bytes, second: bytes) -> bool:
        calls.append((first, second))
        return original(first, second)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    token = new_token()
    assert credentials.digests_match(token.hash, digest(token.text))
    assert not credentials.digests_match(token.hash, digest(token.text + "x"))
    assert len(calls) == 2


def test_passwords_are_argon2id_hashes() -> None:
    stored = hash_password("correct horse battery staple")
    assert stored.startswith("$argon2id$") and "correct" not in stored
    assert verify_password(stored, "correct horse battery staple")
    assert not verify_password(stored, "Correct horse battery staple")
    assert not verify_password(None, "anything")
    assert not verify_password("not a hash", "anything")


def test_a_configured_token_is_named_by_its_digest_never_by_itself() -> None:
    name = configured_token_name("api", "api-token-0123456789")
    assert name.startswith("api-token-") and "0123456789" not in name
    assert name == configured_token_name("api", "api-token-0123456789")
