"""Pages newest first over a big table, at a bounded cost: a window of ids below the cursor.

A filter no index serves in id order would read the primary key backwards until it found a
page of matches: on a year of rows, a rare value reads millions. Instead such a page examines
the ids of one window, `lower` <= id < `upper`, at most `budget` of them (a range of the
primary key, never an OFFSET): a window with fewer matches than asked gives a short page, and
its cursor (`lower`) continues below it. Following the cursors still gives every match once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

__all__ = ["SCAN_BUDGET_ROWS", "IdWindow", "id_window", "unbounded"]

IdColumn = ColumnElement[int] | InstrumentedAttribute[int]
# How many rows one page of a list may examine, when no index serves its filters.
SCAN_BUDGET_ROWS = 20_000


@dataclass(frozen=True, slots=True)
class IdWindow:
    """The ids a page may examine: `lower` <= id < `upper` (None: unbounded on that side);
    `last` when no row lies below the window."""

    upper: int | None
    lower: int | None
    last: bool

    def conditions(self, id_column: IdColumn) -> list[ColumnElement[bool]]:
        """The window as SQL conditions on `id_column`."""
        bounds: list[ColumnElement[bool]] = []
        if self.upper is not None:
            bounds.append(id_column < self.upper)
        if self.lower is not None:
            bounds.append(id_column >= self.lower)
        return bounds

    def cursor_after(self, page_cursor: int | None) -> int | None:
        """Where the next page starts: the page's own cursor, else below the window."""
        if page_cursor is not None or self.last:
            return page_cursor
        return self.lower


def unbounded(after: int | None) -> IdWindow:
    """Every id below `after`: for filters an index serves in id order."""
    return IdWindow(after, None, True)


def id_window(
    session: Session, id_column: IdColumn, after: int | None, budget: int
) -> IdWindow | None:
    """The `budget` ids below `after` (below the newest row's, on the first page); None when
    the table is empty."""
    if budget < 1:
        raise ValueError(f"budget must be at least 1, got {budget}")
    # Two subqueries: SQLite reads min() or max() from the index only when each is alone.
    lowest, highest = session.execute(
        select(
            select(func.min(id_column)).scalar_subquery(),
            select(func.max(id_column)).scalar_subquery(),
        )
    ).one()
    if highest is None:
        return None
    upper = highest + 1 if after is None else min(after, highest + 1)
    lower = upper - budget
    return IdWindow(upper, lower, lower <= lowest)
