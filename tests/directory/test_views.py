"""`directory.views`: saved views are personal, validated, replace by name, one default per table.

(These test a directory service; they live here because the web UI is their first user.)
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from coterie.actor import Actor, Origin, Role
from coterie.directory import forms, views
from coterie.directory.schemas import FieldCreate, SavedViewSave
from coterie.errors import Forbidden, Invalid, NotFound
from coterie.rules import FieldType
from tests.conftest import make_user


def operator(session: Session, admin: Actor, role: Role = Role.READ_ONLY) -> Actor:
    user = make_user(session, admin, full_name=f"Op {role.value}", role=role.value)
    return Actor(admin.workspace_id, role, user.full_name, Origin.WEB, user_id=user.id)


def test_save_replace_default_and_delete(session: Session, admin: Actor) -> None:
    forms.create_field(
        session,
        actor=admin,
        data=FieldCreate(key="plan", label="Plan", type=FieldType("enum"), options=["Free", "Pro"]),
    )
    me = operator(session, admin)
    first = views.save(
        session,
        actor=me,
        table="users",
        data=SavedViewSave(
            name="Pro",
            filter={"all": [{"field": "attributes.plan", "op": "eq", "value": "Pro"}]},
            columns=["attributes.plan"],
            page_size=10,
            is_default=True,
        ),
    )
    second = views.save(
        session,
        actor=me,
        table="users",
        data=SavedViewSave(
            name="Newest",
            sort="created_at",
            descending=True,
            is_default=True,
        ),
    )
    assert [v.name for v in views.list_views(session, actor=me, table="users")] == ["Newest", "Pro"]
    assert views.find_default(session, actor=me, table="users") == second
    session.refresh(first)
    assert not first.is_default

    replaced = views.save(
        session,
        actor=me,
        table="users",
        data=SavedViewSave(name="Pro", sort="full_name", page_size=50),
    )
    assert replaced.id == first.id
    assert replaced.filter is None
    assert replaced.page_size == 50

    views.set_default(session, actor=me, table="users", view_id=first.id)
    assert views.find_default(session, actor=me, table="users") == first
    views.set_default(session, actor=me, table="users", view_id=None)
    assert views.find_default(session, actor=me, table="users") is None

    views.delete(session, actor=me, view_id=second.id)
    assert [v.name for v in views.list_views(session, actor=me, table="users")] == ["Pro"]


def test_views_are_personal(session: Session, admin: Actor) -> None:
    mine = operator(session, admin, Role.STANDARD)
    theirs = operator(session, admin, Role.ADMIN)
    view = views.save(session, actor=mine, table="users", data=SavedViewSave(name="Mine"))
    assert views.list_views(session, actor=theirs, table="users") == []
    with pytest.raises(NotFound):
        views.get(session, actor=theirs, view_id=view.id)
    with pytest.raises(NotFound):
        views.delete(session, actor=theirs, view_id=view.id)
    with pytest.raises(Forbidden):
        views.list_views(session, actor=admin, table="users")  # a system actor has no views


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "x", "filter": {"all": []}}, "filter"),
        ({"name": "x", "sort": "password_hash"}, "sort"),
        ({"name": "x", "columns": ["attributes.nope"]}, "columns"),
        ({"name": "x", "page_size": 13}, "page_size"),
    ],
)
def test_views_that_could_not_be_shown_are_refused(
    session: Session, admin: Actor, data: dict[str, object], field: str
) -> None:
    me = operator(session, admin)
    with pytest.raises(Invalid) as caught:
        views.save(session, actor=me, table="users", data=SavedViewSave(**data))
    assert caught.value.errors[0].field.startswith(field)
    with pytest.raises(Invalid):
        views.list_views(session, actor=me, table="groups")
