"""Secrets: generated tokens (shown once, kept as hashes) and password hashes (argon2)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = [
    "MIN_CONFIGURED_TOKEN_LENGTH",
    "NewToken",
    "configured_token_name",
    "digest",
    "digests_match",
    "hash_password",
    "new_secret",
    "new_token",
    "token_lookup",
    "verify_password",
]

# A token from the settings shorter than this is refused at start.
MIN_CONFIGURED_TOKEN_LENGTH = 16
_PREFIX = "slk_"
# `slk_` + 12 hex digits (the public part, to find the row) + `_` + 43 url-safe characters
# (32 random bytes, 256 bits).
_TOKEN = re.compile(r"slk_([0-9a-f]{12})_[A-Za-z0-9_-]{43}")
_PASSWORDS = PasswordHasher()


@dataclass(frozen=True, slots=True)
class NewToken:
    """A generated token: `text` is shown once; `lookup` and `hash` are what is stored."""

    text: str
    lookup: str
    hash: str


def new_token() -> NewToken:
    """A token with 256 bits of randomness and a public lookup part."""
    lookup = secrets.token_hex(6)
    text = f"{_PREFIX}{lookup}_{secrets.token_urlsafe(32)}"
    return NewToken(text, lookup, digest(text))


def new_secret() -> str:
    """A random value for a session cookie or a CSRF token (256 bits)."""
    return secrets.token_urlsafe(32)


def token_lookup(text: str) -> str | None:
    """The lookup part of a generated token, or None if `text` is not shaped as one."""
    matched = _TOKEN.fullmatch(text)
    return matched.group(1) if matched else None


def digest(text: str) -> str:
    """SHA-256 of a high-entropy secret, as hex: what is stored of tokens and sessions.

    A fast hash is enough for 256 random bits (nothing to guess); passwords use argon2.
    """
    return hashlib.sha256(text.encode()).hexdigest()


def digests_match(first: str, second: str) -> bool:
    """Compare two digests in constant time."""
    return hmac.compare_digest(first.encode(), second.encode())


def configured_token_name(kind: str, text: str) -> str:
    """The name a token from the settings is recorded under: stable, and no part of it."""
    return f"{kind}-token-{digest(text)[:8]}"


def hash_password(password: str) -> str:
    """An argon2id hash of `password`, with its own salt and parameters."""
    return _PASSWORDS.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether `password` matches `stored`; with no stored hash, a hash is still computed
    so that an unknown user takes as long as a wrong password."""
    if stored is None:
        _PASSWORDS.hash(password)
        return False
    try:
        return _PASSWORDS.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
