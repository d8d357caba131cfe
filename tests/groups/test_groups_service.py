"""Groups: manual members, static and dynamic rule groups, member_of, deletion, audit."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from coterie import ids
from coterie.actor import Actor, Origin, Role
from coterie.directory import forms
from coterie.directory.schemas import FieldCreate, UserUpdate
from coterie.errors import Conflict, Forbidden, Invalid
from coterie.events.models import AuditEntry
from coterie.groups import people, preview, service
from coterie.groups.schemas import GroupCreate, GroupUpdate
from tests.conftest import make_user


def members(session: Session, group_id: int) -> set[int]:
    from coterie.groups.models import Membership

    rows = session.query(Membership.user_id).filter(Membership.group_id == group_id)
    return {r[0] for r in rows}


def rule_group(session: Session, admin: Actor, name: str, include: Any, **extra: Any) -> Any:
    data = GroupCreate(name=name, selection="rule", include=include, **extra)
    return service.create(session, actor=admin, data=data)


@pytest.fixture
def plan(session: Session, admin: Actor) -> None:
    forms.create_field(
        session,
        actor=admin,
        data=FieldCreate(key="plan", label="Plan", type="enum", options=["free", "pro"]),
    )


def test_manual_group_add_remove_counts_and_audit(session: Session, admin: Actor) -> None:
    group = service.create(session, actor=admin, data=GroupCreate(name="VIP", tags=["a", " a"]))
    assert group.tags == ["a"]
    ann, bob = (
        make_user(session, admin, full_name="Ann"),
        make_user(session, admin, full_name="Bob"),
    )
    assert service.add_members(
        session, actor=admin, group_id=group.id, user_ids=[ann.id, bob.id, ann.id]
    ) == (2, 0)
    assert service.add_members(session, actor=admin, group_id=group.id, user_ids=[ann.id]) == (0, 1)
    session.refresh(group)
    assert group.member_count == 2 == service.members_total(session, group=group)
    assert service.remove_members(session, actor=admin, group_id=group.id, user_ids=[bob.id]) == (
        1,
        0,
    )
    session.refresh(group)
    assert group.member_count == 1
    actions = [
        (e.action, e.after["reason"], e.after["user_ids"])
        for e in session.query(AuditEntry).filter(AuditEntry.target_id == group.id)
        if e.action.startswith("group.members")
    ]
    assert ("group.members_removed", "manual", [ids.encode(bob.id)]) in actions


def test_dynamic_group_follows_writes_in_the_same_transaction(
    session: Session, admin: Actor, plan: None
) -> None:
    ann = make_user(session, admin, full_name="Ann", attributes={"plan": "pro"})
    make_user(session, admin, full_name="Bob", attributes={"plan": "free"})
    group = rule_group(session, admin, "Pro", 'attributes.plan eq "pro"')
    assert members(session, group.id) == {ann.id}
    cid = make_user(session, admin, full_name="Cid", attributes={"plan": "pro"})
    assert members(session, group.id) == {ann.id, cid.id}
    people.update(
        session, actor=admin, user_id=ann.id, data=UserUpdate(attributes={"plan": "free"})
    )
    assert members(session, group.id) == {cid.id}
    session.refresh(group)
    assert group.member_count == 1


def test_exclusions_and_excluded_people(session: Session, admin: Actor, plan: None) -> None:
    ann = make_user(session, admin, full_name="Ann", attributes={"plan": "pro"})
    bob = make_user(
        session,
        admin,
        full_name="Bob",
        attributes={"plan": "pro"},
        phone="+14155552671",
        email="bob@example.com",
    )
    cid = make_user(session, admin, full_name="Cid", attributes={"plan": "pro"})
    group = rule_group(
        session,
        admin,
        "Pro without phone",
        'attributes.plan eq "pro"',
        exclude="phone pr",
        excluded_user_ids=[ids.encode(cid.id)],
    )
    assert members(session, group.id) == {ann.id}
    people.update(session, actor=admin, user_id=bob.id, data=UserUpdate(phone=""))
    assert members(session, group.id) == {ann.id, bob.id}


def test_dynamic_group_refuses_manual_edits(session: Session, admin: Actor) -> None:
    group = rule_group(session, admin, "All", "full_name pr")
    person = make_user(session, admin)
    with pytest.raises(Conflict, match="dynamic group"):
        service.add_members(session, actor=admin, group_id=group.id, user_ids=[person.id])


def test_member_of_composes_and_propagates(session: Session, admin: Actor, plan: None) -> None:
    vip = service.create(session, actor=admin, data=GroupCreate(name="VIP"))
    pro_vip = rule_group(
        session,
        admin,
        "Pro VIP",
        f'member_of eq "{ids.encode(vip.id)}" and attributes.plan eq "pro"',
    )
    outer = rule_group(session, admin, "Outer", f'member_of eq "{ids.encode(pro_vip.id)}"')
    ann = make_user(session, admin, full_name="Ann", attributes={"plan": "pro"})
    assert members(session, pro_vip.id) == set()
    service.add_members(session, actor=admin, group_id=vip.id, user_ids=[ann.id])
    assert members(session, pro_vip.id) == {ann.id}
    assert members(session, outer.id) == {ann.id}
    people.update(
        session, actor=admin, user_id=ann.id, data=UserUpdate(attributes={"plan": "free"})
    )
    assert members(session, pro_vip.id) == set()
    assert members(session, outer.id) == set()


def test_cycles_are_refused_naming_the_cycle(session: Session, admin: Actor) -> None:
    a = rule_group(session, admin, "A", "full_name pr")
    b = rule_group(session, admin, "B", f'member_of eq "{ids.encode(a.id)}"')
    with pytest.raises(Invalid, match="cycle: A → B → A"):
        service.update(
            session,
            actor=admin,
            group_id=a.id,
            data=GroupUpdate(include=f'member_of eq "{ids.encode(b.id)}"'),
        )


def test_referenced_group_cannot_be_deleted(session: Session, admin: Actor) -> None:
    a = service.create(session, actor=admin, data=GroupCreate(name="A"))
    rule_group(session, admin, "Reader", f'member_of eq "{ids.encode(a.id)}"')
    with pytest.raises(Conflict, match="used by the rules of: Reader"):
        service.delete_group(session, actor=admin, group_id=a.id)


def test_delete_keeps_people(session: Session, admin: Actor) -> None:
    group = rule_group(session, admin, "All", "full_name pr")
    person = make_user(session, admin)
    service.delete_group(session, actor=admin, group_id=group.id)
    assert members(session, group.id) == set()
    removed = [
        (e.after["reason"], e.after["user_ids"])
        for e in session.query(AuditEntry).filter(AuditEntry.target_id == group.id)
        if e.action == "group.members_removed"
    ]
    assert removed == [("deleted", [ids.encode(person.id)])]
    assert people.users.get(session, actor=admin, user_id=person.id).id == person.id


def test_static_group_is_a_snapshot_until_refreshed(session: Session, admin: Actor) -> None:
    group = rule_group(session, admin, "Snap", "full_name pr", behaviour="static")
    person = make_user(session, admin)
    assert members(session, group.id) == set()
    result = service.reevaluate(session, actor=admin, group_id=group.id)
    assert (result.added, result.removed) == (1, 0)
    assert members(session, group.id) == {person.id}


def test_bad_rule_names_the_clause(session: Session, admin: Actor) -> None:
    with pytest.raises(Invalid) as caught:
        rule_group(
            session,
            admin,
            "Bad",
            {
                "all": [
                    {"field": "full_name", "op": "is_set"},
                    {"field": "nope", "op": "eq", "value": 1},
                ]
            },
        )
    assert caught.value.errors[0].field == "include.all[1].field"


def test_deleting_a_person_keeps_counts(session: Session, admin: Actor) -> None:
    group = rule_group(session, admin, "All", "full_name pr")
    person = make_user(session, admin)
    session.refresh(group)
    assert group.member_count == 1
    people.delete(session, actor=admin, user_id=person.id)
    session.refresh(group)
    assert group.member_count == 0


def names(page: Any) -> list[str]:
    return [g.name for g in page.items]


def test_dashboard_filters_sorts_and_pages(session: Session, admin: Actor) -> None:
    service.create(session, actor=admin, data=GroupCreate(name="Alpha", tags=["vip", "uk"]))
    service.create(session, actor=admin, data=GroupCreate(name="Beta 100%", tags=["uk"]))
    rule_group(session, admin, "Gamma", "full_name pr", tags=["vip"])
    make_user(session, admin)
    assert names(
        service.list_groups(session, actor=admin, tag="vip", sort="name", descending=False)
    ) == ["Alpha", "Gamma"]
    assert names(service.list_groups(session, actor=admin, kind="dynamic")) == ["Gamma"]
    assert names(service.list_groups(session, actor=admin, search="100%")) == ["Beta 100%"]
    top = service.list_groups(session, actor=admin, sort="member_count", descending=True, size=1)
    assert names(top) == ["Gamma"]
    assert top.total == 3
    assert top.next is not None
    rest = service.list_groups(
        session, actor=admin, sort="member_count", descending=True, size=2, cursor=top.next
    )
    assert sorted(names(rest)) == ["Alpha", "Beta 100%"]
    assert service.all_tags(session, actor=admin) == ["uk", "vip"]


@pytest.mark.parametrize("role", [Role.IDENTIFIED_ONLY, Role.NONE])
def test_identified_only_people_do_not_see_groups(
    session: Session, admin: Actor, role: Role
) -> None:
    group = service.create(session, actor=admin, data=GroupCreate(name="Secret"))
    person = make_user(session, admin)
    them = Actor(admin.workspace_id, role, "them", Origin.API, user_id=person.id)
    with pytest.raises(Forbidden):
        service.get(session, actor=them, group_id=group.id)
    with pytest.raises(Forbidden):
        service.list_groups(session, actor=them)
    with pytest.raises(Forbidden):
        preview.preview(session, actor=them, include="full_name pr")
