"""Acknowledging from a message: the installation's signing key, and using a link, which
acknowledges the incident as the person it was sent to, once, in one transaction with the
record of its use (a refused acknowledgement leaves the link unused)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from access.audit import Caller
from access.roles import Kind, Principal, Role
from core.database import dialect_insert, writing_session
from incident import service
from incident.actions import IncidentDesk, fields_of
from incident.auditing import audit_action, snapshot
from oncall.acklinks import AckGrant, verify_link
from oncall.models import AckLinkUse, SigningKey
from oncall.store import active_people

__all__ = ["LinkNotAllowed", "LinkUsed", "Redeemed", "check_link", "redeem", "signing_key"]

_KEY_NAME = "ack-links"


class LinkUsed(ValueError):
    """The link has been used already: a link acknowledges once."""

    def __init__(self) -> None:
        super().__init__("this link has been used already")


class LinkNotAllowed(PermissionError):
    """The link's person may not acknowledge (no longer active, or below operator)."""


@dataclass(frozen=True, slots=True)
class Redeemed:
    grant: AckGrant
    incident: dict[str, Any]


def signing_key(session: Session, *, now: datetime) -> bytes:
    """The key that signs acknowledgement links: made on first use, shared by every replica."""
    row = session.get(SigningKey, _KEY_NAME)
    if row is None:
        session.execute(
            dialect_insert(session, SigningKey)
            .values(name=_KEY_NAME, secret=secrets.token_hex(32), created_at=now)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        row = session.scalars(select(SigningKey).where(SigningKey.name == _KEY_NAME)).one()
    return bytes.fromhex(row.secret)


def check_link(session: Session, text: str, *, now: datetime) -> AckGrant:
    """The grant of a link that may still be used (InvalidLink, ExpiredLink, LinkUsed)."""
    grant = verify_link(signing_key(session, now=now), text, now=now)
    if session.get(AckLinkUse, grant.nonce) is not None:
        raise LinkUsed()
    return grant


def redeem(desk: IncidentDesk, text: str, *, address: str | None, note: str | None) -> Redeemed:
    """Acknowledge the link's incident as its person, and mark the link used."""
    now = desk.clock()
    with writing_session(desk.engine) as session:
        grant = check_link(session, text, now=now)
        account = active_people(session, [grant.person]).get(grant.person)
        role = Role(account.role) if account is not None and account.role else None
        if account is None or role is None or role.rank < Role.OPERATOR.rank:
            raise LinkNotAllowed(
                f"{grant.person} may not acknowledge incidents (the operator role or above)"
            )
        inserted = session.execute(
            dialect_insert(session, AckLinkUse)
            .values(
                nonce=grant.nonce,
                notification_id=grant.notification_id,
                person=grant.person,
                used_at=now,
            )
            .on_conflict_do_nothing(index_elements=["nonce"])
            .returning(AckLinkUse.nonce)
        ).scalar_one_or_none()
        if inserted is None:
            raise LinkUsed()
        caller = Caller(
            Principal(
                name=account.username,
                kind=Kind.PERSON,
                role=role,
                method="ack-link",
                account_id=account.id,
            ),
            address,
        )
        acting = caller.acting(None)
        before = snapshot(session, grant.incident_id)
        incident = service.acknowledge(
            session,
            incident_id=grant.incident_id,
            actor=acting.actor,
            via=None,
            rules=desk.rules.current,
            now=now,
            note=note,
        )
        audit_action(session, caller, acting, "ack", incident, before, now)
        return Redeemed(grant, fields_of(session, incident))
