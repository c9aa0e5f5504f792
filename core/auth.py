"""Credentials in a request: a bearer token, or basic auth whose password is a token."""

from __future__ import annotations

import base64
import binascii

__all__ = ["presented_token"]


def presented_token(authorization: str | None) -> str | None:
    """The token in an `Authorization` header (`Bearer T` or `Basic base64(user:T)`)."""
    if not authorization:
        return None
    scheme, _, credentials = authorization.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer":
        return credentials or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        _user, separator, password = decoded.partition(":")
        return password if separator and password else None
    return None
