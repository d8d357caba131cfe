"""Saved views: an operator's named filter, sort, columns and page size for a table.

Views are personal: each belongs to the operator who saved it, and any operator who can sign in
may keep them (read-only operators too, since a view changes no data). Saving under an existing
name replaces that view. At most one view per table is the operator's default, which the table
opens with and "reset to default" returns to.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from coterie import ids
from coterie.actor import Actor
from coterie.directory import listing
from coterie.directory.models import SavedView
from coterie.directory.schemas import SavedViewSave
from coterie.directory.service import workspace_fields
from coterie.errors import Forbidden, Invalid, NotFound
from coterie.events import service as audit
from coterie.pagination import PAGE_SIZES
from coterie.rules import parse_tree

TABLES = ("users", "operators")  # All Users; the Users side of Groups & Users


def _owner(actor: Actor) -> int:
    if actor.user_id is None:
        raise Forbidden("Saved views belong to a signed-in person, not to an API token")
    return actor.user_id


def _check_table(table: str) -> str:
    if table not in TABLES:
        raise Invalid(f"No table named {table!r}; known: {', '.join(TABLES)}", field="table")
    return table


def _check(session: Session, *, actor: Actor, data: SavedViewSave) -> None:
    """Refuse a view that could not be shown: a malformed rule, an unknown sort or column."""
    if data.filter is not None:
        parse_tree(data.filter, at="filter")
    custom = workspace_fields(session, workspace_id=actor.workspace_id)
    listing.sort_key(custom, data.sort)
    known = {f"attributes.{f.key}" for f in custom}
    unknown = [c for c in data.columns if c not in known]
    if unknown:
        raise Invalid(f"Unknown column {unknown[0]!r}", field="columns")
    if data.page_size not in PAGE_SIZES:
        sizes = ", ".join(map(str, PAGE_SIZES))
        raise Invalid(f"Page size must be one of {sizes}", field="page_size")


def _read(view: SavedView) -> dict[str, Any]:
    return {
        "name": view.name,
        "filter": view.filter,
        "sort": view.sort,
        "descending": view.descending,
        "columns": list(view.columns),
        "page_size": view.page_size,
        "is_default": view.is_default,
    }


def _owned(actor: Actor, table: str) -> Any:
    return select(SavedView).where(
        SavedView.workspace_id == actor.workspace_id,
        SavedView.owner_id == _owner(actor),
        SavedView.table == _check_table(table),
    )


def list_views(session: Session, *, actor: Actor, table: str) -> Sequence[SavedView]:
    return session.scalars(_owned(actor, table).order_by(SavedView.name)).all()


def find_default(session: Session, *, actor: Actor, table: str) -> SavedView | None:
    stmt = _owned(actor, table).where(SavedView.is_default.is_(True)).limit(1)
    found: SavedView | None = session.scalars(stmt).first()
    return found


def get(session: Session, *, actor: Actor, view_id: int) -> SavedView:
    view = session.get(SavedView, (actor.workspace_id, view_id))
    if view is None or view.owner_id != _owner(actor):
        raise NotFound(f"No saved view with id {ids.encode(view_id)}")
    return view


def _clear_default(session: Session, *, actor: Actor, table: str, keep: int | None) -> None:
    stmt = (
        update(SavedView)
        .where(
            SavedView.workspace_id == actor.workspace_id,
            SavedView.owner_id == _owner(actor),
            SavedView.table == table,
            SavedView.is_default.is_(True),
        )
        .values(is_default=False)
        .execution_options(synchronize_session="fetch")
    )
    if keep is not None:
        stmt = stmt.where(SavedView.id != keep)
    session.execute(stmt)


def save(session: Session, *, actor: Actor, table: str, data: SavedViewSave) -> SavedView:
    """Create the view, or replace the operator's view of the same name."""
    owner = _owner(actor)
    _check_table(table)
    _check(session, actor=actor, data=data)
    view = session.scalars(_owned(actor, table).where(SavedView.name == data.name)).first()
    before = _read(view) if view is not None else None
    if view is None:
        view = SavedView(workspace_id=actor.workspace_id, owner_id=owner, table=table)
        session.add(view)
    for name, value in data.model_dump().items():
        setattr(view, name, value)
    session.flush()
    if view.is_default:
        _clear_default(session, actor=actor, table=table, keep=view.id)
    audit.record(
        session,
        actor=actor,
        action="view.saved",
        target_type="saved_view",
        target_id=view.id,
        target_label=f"{table}: {view.name}",
        before=before,
        after=_read(view),
    )
    return view


def set_default(
    session: Session, *, actor: Actor, table: str, view_id: int | None
) -> SavedView | None:
    """Make one view the default of its table, or (with None) have no default."""
    _check_table(table)
    view = get(session, actor=actor, view_id=view_id) if view_id is not None else None
    if view is not None and view.table != table:
        raise NotFound(f"No saved view with id {ids.encode(view.id)} for {table}")
    _clear_default(session, actor=actor, table=table, keep=view.id if view else None)
    if view is not None:
        view.is_default = True
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="view.default_set",
        target_type="saved_view",
        target_id=view.id if view else None,
        target_label=f"{table}: {view.name if view else '(none)'}",
    )
    return view


def delete(session: Session, *, actor: Actor, view_id: int) -> None:
    view = get(session, actor=actor, view_id=view_id)
    audit.record(
        session,
        actor=actor,
        action="view.deleted",
        target_type="saved_view",
        target_id=view.id,
        target_label=f"{view.table}: {view.name}",
        before=_read(view),
    )
    session.delete(view)
    session.flush()
