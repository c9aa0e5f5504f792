"""Tables of on-call: rotations and overrides entered through the API, the key that signs
acknowledgement links, and the links used."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, BigId, JsonLabels, UTCDateTime

__all__ = ["AckLinkUse", "RotationOverride", "SigningKey", "StoredRotation"]


class StoredRotation(Base):
    """A rotation created or edited through the API (`definition`: the rule file's form); it
    replaces the rule file's rotation of the same name until deleted."""

    __tablename__ = "rotations"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JsonLabels)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(Text)


class RotationOverride(Base):
    """`person` covers `rotation` from `start_at` to `end_at`, whoever's shift it is.

    Deleting one keeps the row (`deleted_at`, `deleted_by`), as maintenance windows do.
    """

    __tablename__ = "rotation_overrides"
    __table_args__ = (Index("ix_rotation_overrides_rotation", "rotation", "end_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    rotation: Mapped[str] = mapped_column(String(64))
    person: Mapped[str] = mapped_column(String(100))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(Text)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_by: Mapped[str | None] = mapped_column(Text)


class SigningKey(Base):
    """The secret that signs acknowledgement links: made once, shared by every replica."""

    __tablename__ = "signing_keys"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AckLinkUse(Base):
    """An acknowledgement link that was used: a link works once."""

    __tablename__ = "ack_link_uses"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    notification_id: Mapped[int | None] = mapped_column(BigInteger)
    person: Mapped[str] = mapped_column(String(100))
    used_at: Mapped[datetime] = mapped_column(UTCDateTime)
