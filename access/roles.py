"""Who is asking and what they may do: roles, principals, acting for someone (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "INGEST",
    "LOCAL_ADMIN",
    "Acting",
    "ActingRefused",
    "Kind",
    "Principal",
    "Role",
    "acting",
    "allows",
    "lesser",
]

# The scope of tools that push alerts; no person holds it.
INGEST = "ingest"


class Role(StrEnum):
    """Least to most: each role may do what the ones before it may."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    MANAGER = "manager"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {role: rank for rank, role in enumerate(Role)}


class Kind(StrEnum):
    """What a principal is: a person, a service account, a token from the settings, or the
    implicit local admin of an installation that has no credentials at all."""

    PERSON = "person"
    SERVICE = "service"
    CONFIGURED = "configured"
    LOCAL = "local"


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller. `method` says how: token, session, proxy, or none."""

    name: str
    kind: Kind
    role: Role | None
    method: str
    may_ingest: bool = False
    may_act_for: bool = False
    account_id: int | None = None
    token_id: int | None = None
    session_id: int | None = None


LOCAL_ADMIN = Principal(
    name="local-admin",
    kind=Kind.LOCAL,
    role=Role.ADMIN,
    method="none",
    may_ingest=True,
    may_act_for=True,
)


def allows(principal: Principal, needed: Role) -> bool:
    """Whether `principal` holds `needed` or a role above it."""
    return principal.role is not None and principal.role.rank >= needed.rank


def lesser(first: Role | None, second: Role | None) -> Role | None:
    """The lower of two roles; None (no role) is lowest."""
    if first is None or second is None:
        return None
    return first if first.rank <= second.rank else second


@dataclass(frozen=True, slots=True)
class Acting:
    """Who a write is recorded as: `actor`, and `via` the service account that relayed it."""

    actor: str
    via: str | None = None


class ActingRefused(Exception):
    """The request names someone else as its actor, and its principal may not act for
    others."""

    def __init__(self, principal: str, claimed: str) -> None:
        super().__init__(
            f"{principal!r} may not act as {claimed!r}: leave out `actor` (the credential says "
            "who you are), or use a service account allowed to act on behalf of people"
        )
        self.principal = principal
        self.claimed = claimed


def acting(principal: Principal, claimed: str | None) -> Acting:
    """Who to record for a write by `principal` that names `claimed` as its actor."""
    if claimed is None or claimed == principal.name:
        return Acting(principal.name)
    if principal.may_act_for:
        return Acting(claimed, via=principal.name)
    raise ActingRefused(principal.name, claimed)
