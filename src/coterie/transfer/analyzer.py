"""Fresh PostgreSQL statistics for the tables an import's batches look people up in.

Planned from statistics taken when the workspace had few people (autovacuum comes a minute later
at best), the lookups scan every person the import has made, for each batch: an import slows down
quadratically. So `import_rows`, which starts empty for every job, is analyzed each time the job
doubles, and `users` each time the people the job created double the table's size. Analyzing a
table of a million people takes a second or two, and doing it nine times for an import into a
workspace that already has them was a tenth of the import's time (bench/imports.py).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


class Analyzer:
    def __init__(self, session: Session, *, rows_done: int, created: int, batch: int) -> None:
        self._session = session
        self._enabled = session.get_bind().dialect.name == "postgresql"
        self._rows_at = 2 * max(rows_done, batch)
        self._created = created
        self._people = self._estimate("users") if self._enabled else 0
        self._batch = batch

    def _estimate(self, table: str) -> int:
        rows = self._session.scalar(
            text("SELECT reltuples FROM pg_class WHERE oid = CAST(:name AS regclass)"),
            {"name": table},
        )
        return max(int(rows or 0), 0)

    def after_batch(self, *, rows_done: int, created: int) -> None:
        """Analyze what has grown enough since the last time; commits (between batches)."""
        if not self._enabled or rows_done < self._rows_at:
            return
        self._rows_at = 2 * rows_done
        tables = ["import_rows"]
        if created - self._created >= max(self._people, self._batch):
            tables.append("users")
            self._people += created - self._created
            self._created = created
        self._session.execute(text(f"ANALYZE {', '.join(tables)}"))
        self._session.commit()


LARGE = 10_000  # people an import adds to its group from which memberships are analyzed


def before_refresh(session: Session, *, people: int) -> None:
    """Analyze `memberships` (in the final transaction, which sees its own rows) before a large
    import re-evaluates the dynamic groups.

    Measured at a million people: with statistics taken before a dynamic group had its 100,000
    members, PostgreSQL expected 4 and planned the re-evaluation's anti-join as a nested loop
    over the group's members for each person, which ran for many minutes.
    """
    if people >= LARGE and session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE memberships"))
