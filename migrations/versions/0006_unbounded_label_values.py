"""unbounded label values: what a sender may put in a label, the columns hold

A `service` comes from a label value, which neither Alertmanager nor Prometheus bounds; on
PostgreSQL a `varchar(200)` refused the 201st character and with it the whole push (500, resent
forever). The columns holding label-derived values become `text` (the identifier itself is bounded
in bytes by the rules engine, to stay within an index entry), and `truncated_alerts` a `bigint`
(Alertmanager counts them in a uint64). A priority may be any name of the rule file (up to
64 characters, as a level), not only `P1`–`P4`.

Group keys now quote label values as Alertmanager does, so that distinct label sets cannot share a
key; the keys of stored incidents are rewritten to the new form so an open incident keeps its
alerts across the upgrade.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, old type, new type, as SQLite declares the old and the new)
_WIDENED = (
    ("alerts", "service", sa.String(200), sa.Text(), "VARCHAR(200)", "TEXT"),
    ("incidents", "service", sa.String(200), sa.Text(), "VARCHAR(200)", "TEXT"),
    ("maintenance_windows", "service", sa.String(200), sa.Text(), "VARCHAR(200)", "TEXT"),
    ("downtime_counters", "service", sa.String(200), sa.Text(), "VARCHAR(200)", "TEXT"),
    ("event_counters", "labels", sa.String(1000), sa.Text(), "VARCHAR(1000)", "TEXT"),
    ("alerts", "priority", sa.String(8), sa.String(64), "VARCHAR(8)", "VARCHAR(64)"),
    ("incidents", "priority", sa.String(8), sa.String(64), "VARCHAR(8)", "VARCHAR(64)"),
    ("escalations", "priority", sa.String(8), sa.String(64), "VARCHAR(8)", "VARCHAR(64)"),
    ("deliveries", "truncated_alerts", sa.Integer(), sa.BigInteger(), "INTEGER", "BIGINT"),
)


def _sqlite_redeclare(table: str, column: str, old: str, new: str) -> None:
    # Both declarations have the same affinity, so nothing on disk changes: SQLite's documented
    # procedure for such changes edits the schema text (lang_altertable.html, "otheralter"),
    # without the table copy a batch migration would make (and its cascading deletes).
    bind = op.get_bind()
    (sql,) = bind.execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :name"),
        {"name": table},
    ).one()
    pattern = re.compile(rf"(\b{column}\b\s+){re.escape(old)}")
    if not pattern.search(sql):
        return  # already redeclared
    (version,) = bind.execute(sa.text("PRAGMA schema_version")).one()
    bind.execute(sa.text("PRAGMA writable_schema = ON"))
    bind.execute(
        sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = :name"),
        {"sql": pattern.sub(lambda m: m.group(1) + new, sql, count=1), "name": table},
    )
    bind.execute(sa.text(f"PRAGMA schema_version = {int(version) + 1}"))
    bind.execute(sa.text("PRAGMA writable_schema = OFF"))


def _alter(forward: bool) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, column, old, new, old_declared, new_declared in _WIDENED:
        if sqlite:
            before, after = (
                (old_declared, new_declared) if forward else (new_declared, old_declared)
            )
            _sqlite_redeclare(table, column, before, after)
        else:
            before_type, after_type = (old, new) if forward else (new, old)
            op.alter_column(table, column, type_=after_type, existing_type=before_type)


# The keys 0001–0005 wrote: {name="value",...}, values unquoted.
_OLD_PART = re.compile(
    r'([a-zA-Z_][a-zA-Z0-9_]*)="(.*?)"(?:,(?=[a-zA-Z_][a-zA-Z0-9_]*=")|\}$)', re.DOTALL
)


def _requoted(key: str) -> str | None:
    if not (key.startswith("{") and key.endswith("}")):
        return None
    body, parts, position = key[1:], [], 0
    for match in _OLD_PART.finditer(body):
        if match.start() != position:
            return None
        parts.append(f"{match.group(1)}={json.dumps(match.group(2), ensure_ascii=False)}")
        position = match.end()
    if position != len(body):
        return None
    return "{" + ",".join(parts) + "}"


def _requote_group_keys() -> None:
    # Only a value holding a quote, a backslash or a control character is written differently.
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT id, group_key FROM incidents WHERE group_key IS NOT NULL")
    ).all()
    for incident_id, key in rows:
        new = _requoted(key)
        if new is not None and new != key:
            bind.execute(
                sa.text("UPDATE incidents SET group_key = :key WHERE id = :id"),
                {"key": new, "id": incident_id},
            )


def upgrade() -> None:
    _alter(forward=True)
    _requote_group_keys()


def downgrade() -> None:
    _alter(forward=False)
