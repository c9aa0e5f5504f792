"""Pages of alert instances, newest first (`GET /api/v1/alerts`), each at a bounded cost.

A year of alerts is millions of rows, so no page may cost in proportion to the table:

- A filter with an index of its own — a fingerprint, an incident, a service, the firing
  alerts — reads that index in id order: every page is full and costs what it returns.
- Any other filter (level, priority, impact, category, source, resolved, label matchers,
  since, until) examines the next window of at most `SCAN_BUDGET_ROWS` ids below the cursor
  (`core.pages`): a page may be short, even empty, and its cursor continues below.
- Regular-expression matchers are evaluated by RE2 in the application (Alertmanager's
  semantics on both databases), over the same rows the SQL filters let through.
"""

from __future__ import annotations

from sqlalchemy import BindParameter, ColumnElement, bindparam, or_, select
from sqlalchemy.orm import Session

from collector.alerts import AlertStatus
from collector.models import AlertInstance
from collector.store import AlertQuery, label_condition
from core.pages import SCAN_BUDGET_ROWS, id_window, unbounded
from rules.matchers import Matcher

__all__ = ["list_alerts"]

_SCAN_CHUNK = 1_000
_ID = AlertInstance.id


def list_alerts(
    session: Session, query: AlertQuery, *, scan_budget: int = SCAN_BUDGET_ROWS
) -> tuple[list[AlertInstance], int | None]:
    """One page of alert instances, newest first, and the id to continue below (or None)."""
    conditions = _conditions(query)
    # No filter at all: the primary key itself serves it.
    window = (
        unbounded(query.after_id)
        if not conditions or _indexed(query)
        else id_window(session, _ID, query.after_id, scan_budget)
    )
    if window is None:
        return [], None  # no alert at all
    conditions += window.conditions(_ID)
    regexes = [m for m in query.matchers if m.is_regex]
    if regexes:
        budget = scan_budget if window.lower is None else None
        matched, next_after = _scan(session, conditions, regexes, query.limit, budget)
        rows = _load(session, matched)
    else:
        statement = select(AlertInstance).where(*conditions).order_by(_ID.desc())
        rows = list(session.scalars(statement.limit(query.limit + 1)))
        next_after = rows[query.limit - 1].id if len(rows) > query.limit else None
        rows = rows[: query.limit]
    return rows, window.cursor_after(next_after)


def _indexed(query: AlertQuery) -> bool:
    """Whether an index of the filters' own reads the matches in id order."""
    return (
        query.fingerprint is not None
        or query.incident_id is not None
        or query.service is not None
        or query.status is AlertStatus.FIRING
    )


def _conditions(query: AlertQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.status is not None:
        # Written into the SQL, so that SQLite too may use the partial index of firing ids.
        status: BindParameter[str] = bindparam("status", query.status.value, literal_execute=True)
        conditions.append(AlertInstance.status == status)
    if query.fingerprint is not None:
        conditions.append(AlertInstance.fingerprint == query.fingerprint)
    for column_, wanted in (
        (AlertInstance.service, query.service),
        (AlertInstance.level, query.level),
        (AlertInstance.priority, query.priority),
        (AlertInstance.impact, query.impact),
        (AlertInstance.category, query.category),
        (AlertInstance.source, query.source),
    ):
        if wanted is not None:
            conditions.append(column_ == wanted)
    if query.incident_id is not None:
        conditions.append(AlertInstance.incident_id == query.incident_id)
    if query.since is not None:
        conditions.append(
            or_(AlertInstance.ends_at.is_(None), AlertInstance.ends_at >= query.since)
        )
    if query.until is not None:
        conditions.append(AlertInstance.starts_at < query.until)
    conditions.extend(label_condition(m) for m in query.matchers if not m.is_regex)
    return conditions


def _scan(
    session: Session,
    conditions: list[ColumnElement[bool]],
    regexes: list[Matcher],
    limit: int,
    budget: int | None,
) -> tuple[list[int], int | None]:
    """Ids of the first `limit` rows the regexes admit, and where to continue; only ids and
    labels are read. Without a window, at most `budget` rows are examined."""
    matched: list[int] = []
    examined, after = 0, None
    while True:
        room = _SCAN_CHUNK if budget is None else min(_SCAN_CHUNK, budget - examined)
        statement = select(_ID, AlertInstance.labels).where(*conditions)
        if after is not None:
            statement = statement.where(after > _ID)
        chunk = session.execute(statement.order_by(_ID.desc()).limit(room)).all()
        for row_id, labels in chunk:
            examined += 1
            if all(matcher.matches(labels) for matcher in regexes):
                if len(matched) == limit:
                    return matched, matched[-1]
                matched.append(row_id)
        if len(chunk) < room:
            return matched, None  # the end of what the conditions admit
        after = chunk[-1][0]
        if budget is not None and examined >= budget:
            return matched, after


def _load(session: Session, ids: list[int]) -> list[AlertInstance]:
    rows = {row.id: row for row in session.scalars(select(AlertInstance).where(_ID.in_(ids)))}
    return [rows[row_id] for row_id in ids]
