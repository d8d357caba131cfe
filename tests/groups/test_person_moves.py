"""A person's rule-driven moves keep every count right, inside a hierarchy and outside one (where
the recount of the tree is skipped)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from coterie import ids
from coterie.actor import Actor
from coterie.directory import forms
from coterie.directory.schemas import FieldCreate, UserUpdate
from coterie.groups import people, service
from coterie.groups.models import Group
from coterie.groups.schemas import GroupCreate
from tests.conftest import make_user


def _counts(session: Session, group: Group) -> tuple[int, int]:
    session.refresh(group)
    return group.member_count, group.subtree_member_count


def test_moves_update_counts_in_and_out_of_a_tree(session: Session, admin: Actor) -> None:
    forms.create_field(
        session,
        actor=admin,
        data=FieldCreate(key="plan", label="Plan", type="enum", options=["free", "pro"]),
    )
    top = service.create(session, actor=admin, data=GroupCreate(name="Customers"))
    under = GroupCreate(
        name="Paying (in the tree)",
        selection="rule",
        include='attributes.plan eq "pro"',
        parent_id=ids.encode(top.id),
    )
    paying_in_tree = service.create(session, actor=admin, data=under)
    alone = GroupCreate(name="Paying (alone)", selection="rule", include='attributes.plan eq "pro"')
    paying_alone = service.create(session, actor=admin, data=alone)
    ann = make_user(session, admin, full_name="Ann", attributes={"plan": "free"})
    assert _counts(session, top) == (0, 0)

    people.update(session, actor=admin, user_id=ann.id, data=UserUpdate(attributes={"plan": "pro"}))
    assert _counts(session, paying_in_tree) == (1, 1)
    assert _counts(session, top) == (0, 1)
    assert _counts(session, paying_alone) == (1, 1)

    people.update(
        session, actor=admin, user_id=ann.id, data=UserUpdate(attributes={"plan": "free"})
    )
    assert _counts(session, paying_in_tree) == (0, 0)
    assert _counts(session, top) == (0, 0)
    assert _counts(session, paying_alone) == (0, 0)
