"""Acknowledgement links: signed, expiring, single-use grants to acknowledge one incident as
one person, carried in the messages that person receives (pure; the key comes from the caller).

A link is `v1.<grant>.<signature>`: the grant is base64url JSON (incident, person, message,
expiry, a random nonce), the signature HMAC-SHA256 of `v1.<grant>` with the installation's
key. Single use is the caller's part: it records the nonce when the link is used.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["AckGrant", "ExpiredLink", "InvalidLink", "sign_grant", "verify_link"]

_VERSION = "v1"


class InvalidLink(ValueError):
    """Not a link this installation signed (mangled, tampered with, or another key's)."""


class ExpiredLink(ValueError):
    """A genuine link past its expiry."""

    def __init__(self, grant: AckGrant) -> None:
        super().__init__(f"the link expired at {grant.expires_at.isoformat()}")
        self.grant = grant


@dataclass(frozen=True, slots=True)
class AckGrant:
    """`person` may acknowledge `incident_id` until `expires_at`, once (`nonce`)."""

    incident_id: int
    person: str
    notification_id: int | None
    expires_at: datetime
    nonce: str

    @classmethod
    def new(
        cls, incident_id: int, person: str, notification_id: int | None, expires_at: datetime
    ) -> AckGrant:
        return cls(incident_id, person, notification_id, expires_at, secrets.token_urlsafe(16))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(key: bytes, signed: str) -> str:
    return _b64(hmac.new(key, signed.encode("ascii"), hashlib.sha256).digest())


def sign_grant(key: bytes, grant: AckGrant) -> str:
    """The link text of `grant`, signed with `key`."""
    body = {
        "i": grant.incident_id,
        "p": grant.person,
        "n": grant.notification_id,
        "e": int(grant.expires_at.timestamp()),
        "r": grant.nonce,
    }
    encoded = _b64(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())
    signed = f"{_VERSION}.{encoded}"
    return f"{signed}.{_signature(key, signed)}"


def verify_link(key: bytes, text: str, *, now: datetime) -> AckGrant:
    """The grant `text` carries, if `key` signed it and it has not expired at `now`."""
    parts = text.split(".")
    if len(parts) != 3 or parts[0] != _VERSION or len(text) > 2000:
        raise InvalidLink("not an acknowledgement link")
    signed = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_signature(key, signed), parts[2]):
        raise InvalidLink("the link's signature does not match: it was altered or is not ours")
    try:
        body = json.loads(_unb64(parts[1]))
        grant = AckGrant(
            incident_id=int(body["i"]),
            person=str(body["p"]),
            notification_id=None if body["n"] is None else int(body["n"]),
            expires_at=datetime.fromtimestamp(int(body["e"]), tz=UTC),
            nonce=str(body["r"]),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidLink(f"a signed link that cannot be read: {error}") from None
    if now >= grant.expires_at:
        raise ExpiredLink(grant)
    return grant
