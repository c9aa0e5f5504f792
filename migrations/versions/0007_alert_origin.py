"""alert origin: which Alertmanager delivered an instance, and which one listed it

Reconciliation resolved, as "lost resolved", instances that never came from the Alertmanager it
reads: fixture alerts posted by hand, or an old firing replayed, became outages of days. An
instance now records the `externalURL` and `receiver` of the webhook that first reported it, and
the Alertmanager reconciliation found listing it; only those may be repaired by it.

Instances stored before have neither: the next webhook that repeats them fills them in.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("origin_url", "origin_receiver", "listed_by")


def upgrade() -> None:
    for name in _COLUMNS:
        op.add_column("alerts", sa.Column(name, sa.Text(), nullable=True))


def downgrade() -> None:
    for name in reversed(_COLUMNS):
        op.drop_column("alerts", name)
