"""on call and reaching people: rotations, overrides, ack links, channels, silences

Rotations and overrides entered through the API; the key that signs acknowledgement links and
the links used; a person's chat ids; which of a contact's channels a message was delivered on
(and each attempt's channel and person); the order of an incident's messages; the Alertmanager
silence of each maintenance occurrence.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_PENDING = sa.text("state = 'pending'")


def upgrade() -> None:
    op.create_table(
        "rotations",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("definition", _JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_rotations")),
    )
    op.create_table(
        "rotation_overrides",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("rotation", sa.String(64), nullable=False),
        sa.Column("person", sa.String(100), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True)),
        sa.Column("deleted_by", sa.Text()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rotation_overrides")),
    )
    op.create_index("ix_rotation_overrides_rotation", "rotation_overrides", ["rotation", "end_at"])
    op.create_table(
        "signing_keys",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_signing_keys")),
    )
    op.create_table(
        "ack_link_uses",
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("notification_id", sa.BigInteger()),
        sa.Column("person", sa.String(100), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_ack_link_uses")),
    )
    op.create_table(
        "maintenance_silences",
        sa.Column("occurrence", sa.String(200), nullable=False),
        sa.Column("service", sa.Text(), nullable=False),
        sa.Column("window_id", sa.BigInteger()),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("matchers", sa.Text(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("silence_id", sa.String(64)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("occurrence", name=op.f("pk_maintenance_silences")),
    )
    op.create_index("ix_maintenance_silences_service", "maintenance_silences", ["service"])
    op.add_column("accounts", sa.Column("chat_ids", _JSON))
    op.add_column("notifications", sa.Column("channels_done", _JSON))
    op.add_column("notification_attempts", sa.Column("channel", sa.String(64)))
    op.add_column("notification_attempts", sa.Column("person", sa.String(100)))
    op.create_index(
        "ix_notifications_pending_stream",
        "notifications",
        ["incident_id", "contact", "id"],
        postgresql_where=_PENDING,
        sqlite_where=_PENDING,
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_pending_stream", "notifications")
    op.drop_column("notification_attempts", "person")
    op.drop_column("notification_attempts", "channel")
    op.drop_column("notifications", "channels_done")
    op.drop_column("accounts", "chat_ids")
    for table in (
        "maintenance_silences",
        "ack_link_uses",
        "signing_keys",
        "rotation_overrides",
        "rotations",
    ):
        op.drop_table(table)
