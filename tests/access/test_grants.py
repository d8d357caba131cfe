"""Resources, assignments and effective access through the hierarchy."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy.orm import Session

from coterie import ids
from coterie.access import grants, resources
from coterie.access.models import Assignment, Resource
from coterie.access.schemas import ResourceCreate, ResourceUpdate
from coterie.actor import Actor, Origin, Role
from coterie.directory.schemas import UserUpdate
from coterie.errors import Conflict, Forbidden, Invalid
from coterie.groups import hierarchy, people, service
from coterie.groups.models import Group
from coterie.groups.schemas import GroupCreate
from coterie.workspaces.models import Workspace
from tests.conftest import make_user


def group(session: Session, admin: Actor, name: str, parent: Group | None = None) -> Group:
    parent_id = ids.encode(parent.id) if parent is not None else None
    return service.create(session, actor=admin, data=GroupCreate(name=name, parent_id=parent_id))


def resource(session: Session, admin: Actor, name: str, kind: str = "bot", **kw: Any) -> Resource:
    return resources.create(session, actor=admin, data=ResourceCreate(kind=kind, name=name, **kw))


@pytest.fixture
def world(session: Session, admin: Actor) -> dict[str, Any]:
    """EMEA > Sales Team, with Ann in Sales Team and Bob in EMEA; Cy in APAC."""
    emea = group(session, admin, "EMEA")
    team = group(session, admin, "Sales Team", emea)
    apac = group(session, admin, "APAC")
    ann = make_user(session, admin, full_name="Ann")
    bob = make_user(session, admin, full_name="Bob")
    cy = make_user(session, admin, full_name="Cy")
    service.add_members(session, actor=admin, group_id=team.id, user_ids=[ann.id])
    service.add_members(session, actor=admin, group_id=emea.id, user_ids=[bob.id])
    service.add_members(session, actor=admin, group_id=apac.id, user_ids=[cy.id])
    bot = resource(session, admin, "Closer", features=["voice", "scoring"])
    persona = resource(session, admin, "Skeptical CFO", kind="persona")
    return {
        "emea": emea,
        "team": team,
        "apac": apac,
        "ann": ann,
        "bob": bob,
        "cy": cy,
        "bot": bot,
        "persona": persona,
    }


def check(session: Session, ws: int, user: Any, thing: Resource) -> str | None:
    path = grants.check(session, workspace_id=ws, user_id=user.id, resource_id=thing.id)
    return None if path is None else grants.via(path)


def test_access_comes_from_ancestors(session: Session, admin: Actor, world: dict[str, Any]) -> None:
    w, ws = world, admin.workspace_id
    assert check(session, ws, w["ann"], w["bot"]) is None
    assert resources.assign(
        session, actor=admin, group_ids=[w["emea"].id], resource_ids=[w["bot"].id]
    ) == (1, 0)
    assert check(session, ws, w["ann"], w["bot"]) == "Sales Team ← EMEA"
    assert check(session, ws, w["bob"], w["bot"]) == "EMEA"
    assert check(session, ws, w["cy"], w["bot"]) is None
    # a nearer grant is the shorter path
    resources.assign(session, actor=admin, group_ids=[w["team"].id], resource_ids=[w["bot"].id])
    assert check(session, ws, w["ann"], w["bot"]) == "Sales Team"
    granted = grants.of_user(session, workspace_id=ws, user_id=w["ann"].id)
    assert [(g.resource.name, grants.via(g.path)) for g in granted] == [("Closer", "Sales Team")]


def test_unassign_and_bulk(session: Session, admin: Actor, world: dict[str, Any]) -> None:
    w, ws = world, admin.workspace_id
    both = [w["bot"].id, w["persona"].id]
    assert resources.assign(
        session, actor=admin, group_ids=[w["emea"].id, w["apac"].id], resource_ids=both
    ) == (4, 0)
    assert resources.assign(session, actor=admin, group_ids=[w["emea"].id], resource_ids=both) == (
        0,
        2,
    )
    assert check(session, ws, w["cy"], w["persona"]) == "APAC"
    assert resources.unassign(
        session, actor=admin, group_ids=[w["apac"].id], resource_ids=both
    ) == (2, 0)
    assert check(session, ws, w["cy"], w["persona"]) is None
    assert check(session, ws, w["ann"], w["persona"]) == "Sales Team ← EMEA"


def test_deactivated_people_have_no_access(
    session: Session, admin: Actor, world: dict[str, Any]
) -> None:
    w, ws = world, admin.workspace_id
    resources.assign(session, actor=admin, group_ids=[w["emea"].id], resource_ids=[w["bot"].id])
    people.update(session, actor=admin, user_id=w["ann"].id, data=UserUpdate(status="deactivated"))
    assert check(session, ws, w["ann"], w["bot"]) is None
    assert grants.of_user(session, workspace_id=ws, user_id=w["ann"].id) == []
    page = grants.users_with(session, actor=admin, resource_id=w["bot"].id)
    assert [u.full_name for u in page.items] == ["Bob"]


def test_users_with_is_distinct_and_paged(
    session: Session, admin: Actor, world: dict[str, Any]
) -> None:
    w = world
    # Ann is in both groups holding the bot: listed once.
    service.add_members(session, actor=admin, group_id=w["emea"].id, user_ids=[w["ann"].id])
    resources.assign(
        session, actor=admin, group_ids=[w["emea"].id, w["team"].id], resource_ids=[w["bot"].id]
    )
    first = grants.users_with(session, actor=admin, resource_id=w["bot"].id, size=1)
    assert first.total == 2
    assert first.next is not None
    second = grants.users_with(
        session, actor=admin, resource_id=w["bot"].id, size=1, cursor=first.next
    )
    names = {u.full_name for u in first.items + second.items}
    assert names == {"Ann", "Bob"}
    assert second.next is None


def test_deleting_a_group_keeps_people_and_other_grants(
    session: Session, admin: Actor, world: dict[str, Any]
) -> None:
    w, ws = world, admin.workspace_id
    service.add_members(session, actor=admin, group_id=w["apac"].id, user_ids=[w["ann"].id])
    resources.assign(
        session, actor=admin, group_ids=[w["team"].id, w["apac"].id], resource_ids=[w["bot"].id]
    )
    service.delete_group(session, actor=admin, group_id=w["team"].id)
    stored = session.query(Assignment).filter(Assignment.group_id == w["team"].id).count()
    assert stored == 0
    assert check(session, ws, w["ann"], w["bot"]) == "APAC"
    service.delete_group(session, actor=admin, group_id=w["apac"].id)
    assert check(session, ws, w["ann"], w["bot"]) is None
    assert session.get(type(w["ann"]), (ws, w["ann"].id)) is not None


def test_moving_a_group_moves_its_access(
    session: Session, admin: Actor, world: dict[str, Any]
) -> None:
    w, ws = world, admin.workspace_id
    resources.assign(session, actor=admin, group_ids=[w["apac"].id], resource_ids=[w["bot"].id])
    assert check(session, ws, w["ann"], w["bot"]) is None
    hierarchy.move(session, actor=admin, group=w["team"], parent_id=w["apac"].id)
    assert check(session, ws, w["ann"], w["bot"]) == "Sales Team ← APAC"


def test_resource_crud_and_errors(session: Session, admin: Actor, world: dict[str, Any]) -> None:
    w = world
    with pytest.raises(Conflict):
        resource(session, admin, "Closer")
    resource(session, admin, "Closer", kind="playbook")  # same name, another kind
    changed = resources.update(
        session,
        actor=admin,
        resource_id=w["bot"].id,
        data=ResourceUpdate(features=[" voice ", "voice", "crm"]),
    )
    assert changed.features == ["voice", "crm"]
    with pytest.raises(Invalid) as caught:
        resources.assign(
            session, actor=admin, group_ids=[w["emea"].id, 12345], resource_ids=[w["bot"].id]
        )
    assert caught.value.errors[0].field == "group_ids[1]"
    with pytest.raises(Invalid) as unknown:
        resources.assign(session, actor=admin, group_ids=[w["emea"].id], resource_ids=[999])
    assert unknown.value.errors[0].field == "resource_ids[0]"
    assert session.query(Assignment).count() == 0
    resources.assign(session, actor=admin, group_ids=[w["emea"].id], resource_ids=[w["bot"].id])
    resources.delete_resource(session, actor=admin, resource_id=w["bot"].id)
    assert session.query(Assignment).count() == 0


def test_roles_and_other_workspaces(
    session: Session, admin: Actor, world: dict[str, Any], workspace: Workspace
) -> None:
    w = world
    reader = Actor(workspace_id=workspace.id, role=Role.READ_ONLY, label="r", origin=Origin.API)
    with pytest.raises(Forbidden):
        resources.assign(
            session, actor=reader, group_ids=[w["emea"].id], resource_ids=[w["bot"].id]
        )
    plain = Actor(workspace_id=workspace.id, role=Role.STANDARD, label="p", origin=Origin.API)
    with pytest.raises(Forbidden, match="group access permission"):
        resources.assign(session, actor=plain, group_ids=[w["emea"].id], resource_ids=[w["bot"].id])
    with pytest.raises(Forbidden, match="group access permission"):
        resources.unassign(
            session, actor=plain, group_ids=[w["emea"].id], resource_ids=[w["bot"].id]
        )
    allowed = replace(plain, capabilities=frozenset({"group_access"}))
    assert resources.assign(
        session, actor=allowed, group_ids=[w["emea"].id], resource_ids=[w["bot"].id]
    ) == (1, 0)
    scoped = Actor(
        workspace_id=workspace.id,
        role=Role.STANDARD,
        label="s",
        origin=Origin.API,
        scope=frozenset({w["apac"].id}),
        capabilities=frozenset({"group_access"}),
    )
    with pytest.raises(Invalid):
        resources.assign(
            session, actor=scoped, group_ids=[w["emea"].id], resource_ids=[w["bot"].id]
        )
    assert (
        grants.check(
            session, workspace_id=workspace.id + 1, user_id=w["bob"].id, resource_id=w["bot"].id
        )
        is None
    )


def test_the_catalog_needs_group_access_and_respects_the_scope(
    session: Session, admin: Actor, world: dict[str, Any]
) -> None:
    plain = replace(admin, role=Role.STANDARD, capabilities=frozenset())
    with pytest.raises(Forbidden, match="group access"):
        resource(session, plain, "Sneaky")
    with pytest.raises(Forbidden, match="group access"):
        resources.delete_resource(session, actor=plain, resource_id=world["bot"].id)
    scoped = replace(
        plain, capabilities=frozenset({"group_access"}), scope=frozenset({world["apac"].id})
    )
    mine = resource(session, scoped, "Apac helper")
    resources.assign(session, actor=scoped, group_ids=[world["apac"].id], resource_ids=[mine.id])
    renamed = resources.update(
        session, actor=scoped, resource_id=mine.id, data=ResourceUpdate(name="APAC helper")
    )
    assert renamed.name == "APAC helper"
    resources.assign(session, actor=admin, group_ids=[world["emea"].id], resource_ids=[mine.id])
    for change in (
        lambda: resources.update(
            session, actor=scoped, resource_id=mine.id, data=ResourceUpdate(name="Mine now")
        ),
        lambda: resources.delete_resource(session, actor=scoped, resource_id=mine.id),
    ):
        with pytest.raises(Forbidden, match="outside your scope"):
            change()
    assert session.get(Resource, (admin.workspace_id, mine.id)) is not None
    assert mine.name == "APAC helper"
