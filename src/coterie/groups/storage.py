"""Inserting membership rows so that two writers adding the same person never collide.

A person can be added by a manual add, a rule evaluation and a per-person re-evaluation at once;
`ON CONFLICT DO NOTHING` (both databases) makes the second insert a no-op instead of an error,
and `RETURNING` tells each writer which rows it really added, so counts and audit stay exact.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from coterie.groups.models import Membership


def insert_new(session: Session) -> Any:
    """`INSERT INTO memberships ... ON CONFLICT DO NOTHING`, for `.values`/`.from_select`."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(Membership).on_conflict_do_nothing()
