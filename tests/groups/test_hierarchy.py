"""The group hierarchy: subgroups, depth limit, moves, cycles, subtree counts, deletion."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from coterie import ids
from coterie.actor import Actor, Role
from coterie.directory import service as directory
from coterie.errors import Conflict, Forbidden, Invalid
from coterie.groups import hierarchy, people, service
from coterie.groups.models import Group
from coterie.groups.schemas import GroupCreate, GroupUpdate
from coterie.workspaces.models import Workspace
from tests.conftest import make_user


def group(
    session: Session, admin: Actor, name: str, parent: Group | None = None, **kw: Any
) -> Group:
    parent_id = ids.encode(parent.id) if parent is not None else None
    return service.create(
        session, actor=admin, data=GroupCreate(name=name, parent_id=parent_id, **kw)
    )


@pytest.fixture
def tree(session: Session, admin: Actor) -> dict[str, Group]:
    """EMEA > Sales > Sales Team, EMEA > Support; APAC alone."""
    emea = group(session, admin, "EMEA")
    sales = group(session, admin, "Sales", emea)
    team = group(session, admin, "Sales Team", sales)
    support = group(session, admin, "Support", emea)
    apac = group(session, admin, "APAC")
    return {"emea": emea, "sales": sales, "team": team, "support": support, "apac": apac}


def test_subtree_and_ancestors(
    session: Session, workspace: Workspace, tree: dict[str, Group]
) -> None:
    ws = workspace.id
    t = tree
    assert hierarchy.subtree_ids(session, workspace_id=ws, group_ids=[t["emea"].id]) == {
        t["emea"].id,
        t["sales"].id,
        t["team"].id,
        t["support"].id,
    }
    assert hierarchy.subtree_ids(
        session, workspace_id=ws, group_ids=[t["sales"].id, t["apac"].id]
    ) == {t["sales"].id, t["team"].id, t["apac"].id}
    assert hierarchy.ancestor_ids(session, workspace_id=ws, group_ids=[t["team"].id]) == {
        t["team"].id,
        t["sales"].id,
        t["emea"].id,
    }
    assert hierarchy.subtree_ids(session, workspace_id=ws, group_ids=[]) == set()
    assert hierarchy.subtree_ids(session, workspace_id=ws + 1, group_ids=[t["emea"].id]) == set()
    assert [g.name for g in hierarchy.chain(session, workspace_id=ws, group_id=t["team"].id)] == [
        "Sales Team",
        "Sales",
        "EMEA",
    ]


def test_depth_limit_on_create(session: Session, admin: Actor, tree: dict[str, Group]) -> None:
    with pytest.raises(Invalid) as caught:
        group(session, admin, "Too deep", tree["team"])
    assert caught.value.errors[0].field == "parent_id"
    assert "4 levels deep" in caught.value.detail
    assert "allows 3" in caught.value.detail
    assert service.find_by_name(session, workspace_id=admin.workspace_id, name="Too deep") is None


def test_depth_follows_the_workspace_setting(
    session: Session, admin: Actor, workspace: Workspace, tree: dict[str, Group]
) -> None:
    workspace.hierarchy_depth = 4
    session.flush()
    deeper = group(session, admin, "Deeper", tree["team"])
    assert hierarchy.level(session, workspace_id=workspace.id, group_id=deeper.id) == 4


def test_unknown_parent_is_named(session: Session, admin: Actor) -> None:
    group_data = GroupCreate(name="Orphan", parent_id="nonsense")
    with pytest.raises(Invalid) as caught:
        service.create(session, actor=admin, data=group_data)
    assert caught.value.errors[0].field == "parent_id"


def test_move_refuses_cycles(session: Session, admin: Actor, tree: dict[str, Group]) -> None:
    for target in ("emea", "team"):
        with pytest.raises(Invalid) as caught:
            hierarchy.move(session, actor=admin, group=tree["emea"], parent_id=tree[target].id)
        assert caught.value.errors[0].field == "parent_id"
        assert "cycle" in caught.value.detail
    assert tree["emea"].parent_id is None


def test_move_refuses_depth_overflow(
    session: Session, admin: Actor, tree: dict[str, Group]
) -> None:
    # Sales has a subgroup: under Support it would reach level 4.
    with pytest.raises(Invalid) as caught:
        hierarchy.move(session, actor=admin, group=tree["sales"], parent_id=tree["support"].id)
    assert caught.value.errors[0].field == "parent_id"
    assert tree["sales"].parent_id == tree["emea"].id


def test_move_subtree_and_counts(
    session: Session, admin: Actor, workspace: Workspace, tree: dict[str, Group]
) -> None:
    t = tree
    ann, bob = (
        make_user(session, admin, full_name="Ann"),
        make_user(session, admin, full_name="Bob"),
    )
    service.add_members(session, actor=admin, group_id=t["team"].id, user_ids=[ann.id, bob.id])
    service.add_members(session, actor=admin, group_id=t["support"].id, user_ids=[ann.id])
    session.refresh(t["emea"])
    assert (t["emea"].member_count, t["emea"].subtree_member_count) == (0, 2)  # Ann once
    assert t["support"].subtree_member_count == 1

    hierarchy.move(session, actor=admin, group=t["sales"], parent_id=t["apac"].id)
    session.flush()
    assert hierarchy.subtree_ids(session, workspace_id=workspace.id, group_ids=[t["apac"].id]) == {
        t["apac"].id,
        t["sales"].id,
        t["team"].id,
    }
    for g in t.values():
        session.refresh(g)
    assert t["apac"].subtree_member_count == 2
    assert t["emea"].subtree_member_count == 1  # only Ann, through Support
    nodes = {n.name: n for n in hierarchy.tree(session, actor=admin)}
    assert (nodes["Sales Team"].level, nodes["Sales Team"].parent_id) == (3, t["sales"].id)
    assert (nodes["APAC"].subgroups, nodes["APAC"].subtree_member_count) == (1, 2)
    assert [n.name for n in hierarchy.tree(session, actor=admin)] == [
        "APAC",
        "Sales",
        "Sales Team",
        "EMEA",
        "Support",
    ]

    hierarchy.move(session, actor=admin, group=t["sales"], parent_id=None)
    session.refresh(t["apac"])
    assert t["apac"].subtree_member_count == 0


def test_counts_follow_membership_changes(
    session: Session, admin: Actor, tree: dict[str, Group]
) -> None:
    t = tree
    ann = make_user(session, admin, full_name="Ann")
    service.add_members(session, actor=admin, group_id=t["team"].id, user_ids=[ann.id])
    service.add_members(session, actor=admin, group_id=t["sales"].id, user_ids=[ann.id])
    session.refresh(t["emea"])
    assert t["emea"].subtree_member_count == 1
    service.remove_members(session, actor=admin, group_id=t["team"].id, user_ids=[ann.id])
    session.refresh(t["emea"])
    session.refresh(t["team"])
    assert (t["emea"].subtree_member_count, t["team"].subtree_member_count) == (1, 0)
    people.delete(session, actor=admin, user_id=ann.id)
    session.refresh(t["emea"])
    assert t["emea"].subtree_member_count == 0


def test_move_takes_a_bounded_number_of_queries(
    session: Session, admin: Actor, workspace: Workspace
) -> None:
    def statements(subgroups: int) -> int:
        top = group(session, admin, f"Top {subgroups}")
        middle = group(session, admin, f"Middle {subgroups}", top)
        for index in range(subgroups):
            group(session, admin, f"Leaf {subgroups}-{index}", middle)
        target = group(session, admin, f"Target {subgroups}")
        session.flush()
        seen: list[str] = []
        conn = session.connection()
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(conn, "before_cursor_execute", listener)
        try:
            hierarchy.move(session, actor=admin, group=middle, parent_id=target.id)
            session.flush()
        finally:
            event.remove(conn, "before_cursor_execute", listener)
        return len(seen)

    assert statements(3) == statements(60)


def test_billing_fields_only_at_level_one(
    session: Session, admin: Actor, tree: dict[str, Group]
) -> None:
    emea = service.update(
        session,
        actor=admin,
        group_id=tree["emea"].id,
        data=GroupUpdate(billing_email="billing@acme.test", billing_plan="Pro", billing_seats=40),
    )
    assert (emea.billing_plan, emea.billing_seats) == ("Pro", 40)
    with pytest.raises(Invalid) as caught:
        service.update(
            session, actor=admin, group_id=tree["sales"].id, data=GroupUpdate(billing_plan="Pro")
        )
    assert caught.value.errors[0].field == "billing_plan"
    with pytest.raises(Invalid) as moved:
        hierarchy.move(session, actor=admin, group=emea, parent_id=tree["apac"].id)
    assert moved.value.errors[0].field == "parent_id"


def test_delete_refuses_a_group_with_subgroups(
    session: Session, admin: Actor, tree: dict[str, Group]
) -> None:
    with pytest.raises(Conflict) as caught:
        service.delete_group(session, actor=admin, group_id=tree["sales"].id)
    assert "Sales Team" in caught.value.detail
    ann = make_user(session, admin, full_name="Ann")
    service.add_members(session, actor=admin, group_id=tree["team"].id, user_ids=[ann.id])
    service.delete_group(session, actor=admin, group_id=tree["team"].id)
    session.refresh(tree["emea"])
    assert tree["emea"].subtree_member_count == 0
    assert directory.get(session, actor=admin, user_id=ann.id).id == ann.id


def test_a_scoped_operator_cannot_use_a_parent_outside_scope(
    session: Session, admin: Actor, tree: dict[str, Group]
) -> None:
    scoped = replace(admin, role=Role.STANDARD, scope=frozenset({tree["apac"].id}))
    outside = GroupCreate(name="Sneaky", parent_id=ids.encode(tree["emea"].id))
    with pytest.raises(Invalid) as caught:
        service.create(session, actor=scoped, data=outside)
    assert caught.value.errors[0].field == "parent_id"
    with pytest.raises(Invalid):
        hierarchy.move(session, actor=scoped, group=tree["apac"], parent_id=tree["emea"].id)
    assert tree["apac"].parent_id is None


def test_a_scoped_operator_must_create_inside_scope(
    session: Session, admin: Actor, tree: dict[str, Group]
) -> None:
    scope = frozenset({tree["emea"].id, tree["sales"].id, tree["support"].id, tree["team"].id})
    scoped = replace(admin, role=Role.STANDARD, scope=scope)
    with pytest.raises(Forbidden) as caught:
        service.create(session, actor=scoped, data=GroupCreate(name="Top"))
    assert caught.value.extra["field"] == "parent_id"
    assert service.find_by_name(session, workspace_id=admin.workspace_id, name="Top") is None
    with pytest.raises(Forbidden):
        hierarchy.move(session, actor=scoped, group=tree["support"], parent_id=None)
    assert tree["support"].parent_id == tree["emea"].id
    inside = service.create(
        session,
        actor=scoped,
        data=GroupCreate(name="Inside", parent_id=ids.encode(tree["sales"].id)),
    )
    assert inside.parent_id == tree["sales"].id
    top = service.create(session, actor=admin, data=GroupCreate(name="Admin top"))
    assert top.parent_id is None
