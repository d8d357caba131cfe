"""Operators: permissions (scope and capabilities), passwords, agent fields, eligible agents,
and moving a person between groups with their records."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from coterie import ids
from coterie.access import scope as scopes
from coterie.access.operators import moves
from coterie.access.operators import service as operators
from coterie.actor import Actor, Origin, Role
from coterie.directory import passwords, signin
from coterie.directory import service as users
from coterie.directory.models import TimelineEntry
from coterie.directory.schemas import TimelineCreate, UserUpdate
from coterie.errors import Conflict, Forbidden, Invalid, NotFound
from coterie.events.models import AuditEntry
from coterie.groups import service as groups
from coterie.groups.models import Membership
from coterie.groups.schemas import GroupCreate
from tests.conftest import make_user


def _group(session: Session, admin: Actor, name: str, **extra: Any) -> Any:
    return groups.create(session, actor=admin, data=GroupCreate(name=name, **extra))


def _as(session: Session, user: Any) -> Actor:
    return scopes.operator_actor(session, user=user, origin=Origin.API)


def _in(session: Session, admin: Actor, group: Any, *people: Any) -> None:
    groups.add_members(session, actor=admin, group_id=group.id, user_ids=[p.id for p in people])


def test_admin_sets_scope_and_capabilities_and_it_is_audited(
    session: Session, admin: Actor
) -> None:
    sales, support = _group(session, admin, "Sales"), _group(session, admin, "Support")
    op = make_user(session, admin, full_name="Olga", role="standard")
    found = operators.set_permissions(
        session,
        actor=admin,
        user_id=op.id,
        group_ids=[support.id, sales.id],
        capabilities=["reporting"],
    )
    assert [g.name for g in found.groups] == ["Sales", "Support"]
    assert found.capabilities == ["reporting"]
    actor = _as(session, op)
    assert actor.scope == frozenset({sales.id, support.id})
    assert actor.can("reporting")
    assert not actor.can("audio_scoring")
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "operator.permissions_changed")
    ).one()
    assert entry.after is not None
    assert entry.after["capabilities"] == ["reporting"]

    cleared = operators.set_permissions(
        session, actor=admin, user_id=op.id, group_ids=[], capabilities=[]
    )
    assert cleared.groups == []
    assert _as(session, op).scope is None


def test_only_admins_change_permissions_and_groups_must_exist(
    session: Session, admin: Actor
) -> None:
    op = make_user(session, admin, full_name="Olga", role="standard")
    with pytest.raises(Forbidden):
        operators.set_permissions(
            session, actor=_as(session, op), user_id=op.id, group_ids=[], capabilities=[]
        )
    with pytest.raises(Invalid) as bad:
        operators.set_permissions(
            session, actor=admin, user_id=op.id, group_ids=[4242], capabilities=[]
        )
    assert bad.value.errors[0].field == "group_ids[0]"


def test_an_admin_is_never_limited_by_a_scope(session: Session, admin: Actor) -> None:
    sales = _group(session, admin, "Sales")
    boss = make_user(session, admin, full_name="Boss", role="admin")
    operators.set_permissions(
        session, actor=admin, user_id=boss.id, group_ids=[sales.id], capabilities=[]
    )
    assert _as(session, boss).scope is None


def test_a_scoped_operator_sees_only_its_groups_and_their_members(
    session: Session, admin: Actor
) -> None:
    sales, support = _group(session, admin, "Sales"), _group(session, admin, "Support")
    ann, bob, cid = (make_user(session, admin, full_name=n) for n in ("Ann", "Bob", "Cid"))
    _in(session, admin, sales, ann)
    _in(session, admin, support, bob)
    op = make_user(session, admin, full_name="Olga", role="read_only")
    operators.set_permissions(
        session, actor=admin, user_id=op.id, group_ids=[sales.id], capabilities=[]
    )
    actor = _as(session, op)

    listed = groups.list_groups(session, actor=actor)
    assert [g.name for g in listed.items] == ["Sales"]
    assert scopes.sees_person(session, actor=actor, user_id=ann.id)
    assert not scopes.sees_person(session, actor=actor, user_id=bob.id)
    assert not scopes.sees_person(session, actor=actor, user_id=cid.id)
    with pytest.raises(NotFound):
        groups.get(session, actor=actor, group_id=support.id)

    from coterie.directory import listing

    page = listing.list_users(session, actor=actor, scope=scopes.people(session, actor=actor))
    assert [u.full_name for u in page.items] == ["Ann"]
    assert page.total == 1
    mine = groups.groups_of(session, actor=actor, user_id=ann.id)
    assert [g.name for _, g in mine] == ["Sales"]


def test_own_password_needs_the_current_one(session: Session, admin: Actor) -> None:
    op = make_user(session, admin, full_name="Olga", role="read_only", password="first-pass")
    actor = _as(session, op)
    with pytest.raises(Invalid) as wrong:
        operators.change_own_password(session, actor=actor, current="nope", new="second-pass")
    assert wrong.value.errors[0].field == "current_password"
    operators.change_own_password(session, actor=actor, current="first-pass", new="second-pass")
    assert passwords.verify_password(op.password_hash, "second-pass")
    with pytest.raises(Forbidden):
        operators.change_own_password(session, actor=admin, current="x", new="yyyyyyyy")


def test_an_admin_sets_another_operators_password(session: Session, admin: Actor) -> None:
    workspace_slug = "acme-pw"
    from coterie.workspaces import service as workspaces

    ws = workspaces.create(session, slug=workspace_slug, name="Acme PW")
    boss = Actor(workspace_id=ws.id, role=Role.ADMIN, label="boss", origin=Origin.API)
    op = make_user(session, boss, full_name="Olga", role="standard", email="olga@example.com")
    standard = _as(session, op)
    with pytest.raises(Forbidden):
        operators.set_password(session, actor=standard, user_id=op.id, password="whatever-1")
    operators.set_password(session, actor=boss, user_id=op.id, password="brand-new-1")
    signed = signin.authenticate(
        session, slug=workspace_slug, email="olga@example.com", password="brand-new-1"
    )
    assert signed.id == op.id


def test_agent_id_is_unique_naming_its_holder_and_ring_phone_is_normalized(
    session: Session, admin: Actor
) -> None:
    ann = make_user(session, admin, full_name="Ann", agent_id="A-1", ring_phone="020 7946 0018")
    assert ann.ring_phone == "+442079460018"
    bob = make_user(session, admin, full_name="Bob")
    with pytest.raises(Conflict) as taken:
        users.update(session, actor=admin, user_id=bob.id, data=UserUpdate(agent_id="A-1"))
    assert "Ann" in taken.value.detail
    assert taken.value.extra["field"] == "agent_id"
    with pytest.raises(Invalid) as bad:
        users.update(session, actor=admin, user_id=bob.id, data=UserUpdate(ring_phone="nope"))
    assert bad.value.errors[0].field == "ring_phone"


def test_eligible_agents(session: Session, admin: Actor) -> None:
    sales, support = _group(session, admin, "Sales"), _group(session, admin, "Support")
    scorer = make_user(session, admin, full_name="Scorer", scoring_enabled=True)
    idle = make_user(session, admin, full_name="Not scoring")
    elsewhere = make_user(session, admin, full_name="Scorer elsewhere", scoring_enabled=True)
    gone = make_user(session, admin, full_name="Gone", scoring_enabled=True, status="deactivated")
    _in(session, admin, sales, scorer, idle, gone)
    _in(session, admin, support, elsewhere)
    make_user(session, admin, full_name="Roamer", roaming=True, role="standard")
    covered = make_user(session, admin, full_name="Roamer scoped", roaming=True, role="standard")
    other = make_user(session, admin, full_name="Roamer other", roaming=True, role="standard")
    operators.set_permissions(
        session, actor=admin, user_id=covered.id, group_ids=[sales.id], capabilities=[]
    )
    operators.set_permissions(
        session, actor=admin, user_id=other.id, group_ids=[support.id], capabilities=[]
    )
    found = operators.eligible_agents(session, actor=admin, group_id=sales.id)
    assert [u.full_name for u in found] == ["Roamer", "Roamer scoped", "Scorer"]


def _note(session: Session, admin: Actor, user: Any, group: Any | None, title: str) -> Any:
    from coterie.directory import timeline

    entry = timeline.create(
        session, actor=admin, user_id=user.id, data=TimelineCreate(kind="note", body=title)
    )
    entry.group_id = None if group is None else group.id
    session.flush()
    return entry


def _groups_of(session: Session, user: Any) -> set[int]:
    stmt = select(Membership.group_id).where(Membership.user_id == user.id)
    return set(session.scalars(stmt))


def test_move_with_records(session: Session, admin: Actor) -> None:
    sales, support = _group(session, admin, "Sales"), _group(session, admin, "Support")
    ann = make_user(session, admin, full_name="Ann")
    _in(session, admin, sales, ann)
    owned = _note(session, admin, ann, sales, "owned by sales")
    unowned = _note(session, admin, ann, None, "no group")
    done = moves.move(
        session,
        actor=admin,
        user_id=ann.id,
        from_group_id=sales.id,
        to_group_id=support.id,
        transfer=True,
    )
    assert done.moved_records == 1
    assert "Permissions may need updating" in done.warning
    assert _groups_of(session, ann) == {support.id}
    session.refresh(owned)
    session.refresh(unowned)
    assert (owned.group_id, unowned.group_id) == (support.id, None)
    assert groups.get(session, actor=admin, group_id=sales.id).member_count == 0
    assert groups.get(session, actor=admin, group_id=support.id).member_count == 1
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.moved")).one()
    assert entry.after is not None
    assert entry.after["records_transferred"] == 1


def test_move_without_records_leaves_them(session: Session, admin: Actor) -> None:
    sales, support = _group(session, admin, "Sales"), _group(session, admin, "Support")
    ann = make_user(session, admin, full_name="Ann")
    _in(session, admin, sales, ann)
    owned = _note(session, admin, ann, sales, "owned by sales")
    done = moves.move(
        session, actor=admin, user_id=ann.id, from_group_id=sales.id, to_group_id=support.id
    )
    assert done.moved_records == 0
    session.refresh(owned)
    assert owned.group_id == sales.id


def test_a_move_that_fails_half_way_changes_nothing(
    session: Session, admin: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    sales, support = _group(session, admin, "Sales"), _group(session, admin, "Support")
    ann = make_user(session, admin, full_name="Ann")
    _in(session, admin, sales, ann)
    owned = _note(session, admin, ann, sales, "owned by sales")

    def broken(session: Session, **_: Any) -> int:
        session.execute(
            TimelineEntry.__table__.update()
            .where(TimelineEntry.__table__.c.id == owned.id)
            .values(group_id=support.id)
        )
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(moves, "transfer_records", broken)
    with pytest.raises(RuntimeError):
        moves.move(
            session,
            actor=admin,
            user_id=ann.id,
            from_group_id=sales.id,
            to_group_id=support.id,
            transfer=True,
        )
    assert _groups_of(session, ann) == {sales.id}
    session.refresh(owned)
    assert owned.group_id == sales.id
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "user.moved")).all() == []


def test_move_refuses_what_it_cannot_do(session: Session, admin: Actor) -> None:
    sales, support = _group(session, admin, "Sales"), _group(session, admin, "Support")
    ann = make_user(session, admin, full_name="Ann")
    with pytest.raises(Invalid) as not_member:
        moves.move(
            session, actor=admin, user_id=ann.id, from_group_id=sales.id, to_group_id=support.id
        )
    assert not_member.value.errors[0].field == "from_group_id"
    _in(session, admin, sales, ann)
    with pytest.raises(Invalid) as same:
        moves.move(
            session, actor=admin, user_id=ann.id, from_group_id=sales.id, to_group_id=sales.id
        )
    assert same.value.errors[0].field == "to_group_id"
    reader = Actor(
        workspace_id=admin.workspace_id, role=Role.READ_ONLY, label="r", origin=Origin.API
    )
    with pytest.raises(Forbidden):
        moves.move(
            session, actor=reader, user_id=ann.id, from_group_id=sales.id, to_group_id=support.id
        )


def test_a_scope_reaches_the_subgroups_of_its_groups(session: Session, admin: Actor) -> None:
    emea = _group(session, admin, "EMEA")
    sales = _group(session, admin, "EMEA Sales", parent_id=ids.encode(emea.id))
    apac = _group(session, admin, "APAC")
    ann, bob = (
        make_user(session, admin, full_name="Ann"),
        make_user(session, admin, full_name="Bob"),
    )
    _in(session, admin, sales, ann)
    _in(session, admin, apac, bob)
    op = make_user(session, admin, full_name="Olga", role="standard")
    operators.set_permissions(
        session, actor=admin, user_id=op.id, group_ids=[emea.id], capabilities=[]
    )
    actor = _as(session, op)
    assert actor.scope == frozenset({emea.id, sales.id})
    assert scopes.sees_person(session, actor=actor, user_id=ann.id)
    assert not scopes.sees_person(session, actor=actor, user_id=bob.id)
    names = [g.name for g in groups.list_groups(session, actor=actor, sort="name").items]
    assert sorted(names) == ["EMEA", "EMEA Sales"]

    roamer = make_user(session, admin, full_name="Roamer", roaming=True, role="standard")
    operators.set_permissions(
        session, actor=admin, user_id=roamer.id, group_ids=[emea.id], capabilities=[]
    )
    covered = operators.eligible_agents(session, actor=admin, group_id=sales.id)
    assert [u.full_name for u in covered] == ["Roamer"]
    assert operators.eligible_agents(session, actor=admin, group_id=apac.id) == []


def test_eligible_agents_need_the_audio_scoring_capability(session: Session, admin: Actor) -> None:
    sales = _group(session, admin, "Sales")
    op = make_user(session, admin, full_name="Olga", role="standard")
    with pytest.raises(Forbidden):
        operators.eligible_agents(session, actor=_as(session, op), group_id=sales.id)
    operators.set_permissions(
        session, actor=admin, user_id=op.id, group_ids=[], capabilities=["audio_scoring"]
    )
    assert operators.eligible_agents(session, actor=_as(session, op), group_id=sales.id) == []
