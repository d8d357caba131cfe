from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coterie import actor as actors
from coterie.actor import Actor, Origin, Role
from coterie.directory import forms, listing
from coterie.directory import service as users
from coterie.directory.models import User
from coterie.directory.schemas import FieldCreate, UserCreate, UserUpdate
from coterie.errors import Conflict, Forbidden, Invalid, NotFound
from coterie.events.models import AuditEntry, OutboxEvent
from coterie.rules import FieldType, parse_filter
from coterie.workspaces import service as workspaces
from coterie.workspaces.models import Workspace
from tests.conftest import make_user


def test_create_normalizes_identifiers_with_the_workspace_region(
    session: Session, admin: Actor
) -> None:
    user = make_user(
        session,
        admin,
        first_name="Jane",
        last_name="Doe",
        phone="07911 123456",
        email="Jane@Example.com",
        instagram="@JaneD",
        whatsapp="+1 415 555 2671",
    )
    assert user.full_name == "Jane Doe"
    assert user.phone == "+447911123456"
    assert user.email == "jane@example.com"
    assert user.instagram == "janed"
    assert user.whatsapp == "+14155552671"


def test_duplicate_identifier_names_the_existing_person(session: Session, admin: Actor) -> None:
    first = make_user(session, admin, full_name="Ada Lovelace", phone="+447911123456")
    with pytest.raises(Conflict) as caught:
        make_user(session, admin, full_name="Someone Else", phone="07911 123456")
    assert "Ada Lovelace" in caught.value.detail
    assert caught.value.extra["existing_name"] == "Ada Lovelace"
    assert caught.value.extra["field"] == "phone"
    assert first.id != 0


def test_a_new_person_is_one_insert_that_also_checks_their_identifiers(
    session: Session, admin: Actor, sql: list[str]
) -> None:
    make_user(session, admin, full_name="Ada Lovelace", email="ada@example.com")
    sql.clear()
    bob = users.create(
        session, actor=admin, data=UserCreate(full_name="Bob", email="bob@example.com")
    )
    assert sql[0].startswith("INSERT INTO users")  # nothing looked up first
    assert not [s for s in sql if s.startswith("SELECT")]  # nor read back after
    assert (bob.email, bob.role, bob.status, bob.nicknames, bob.ring_phone) == (
        "bob@example.com",
        "none",
        "active",
        [],
        None,
    )
    assert not [s for s in sql if s.startswith("SELECT")]  # every column was loaded
    stored = session.execute(select(User.__table__).where(User.id == bob.id)).one()._asdict()
    assert stored == {c: getattr(bob, c) for c in stored}

    with pytest.raises(Conflict) as caught:
        users.create(session, actor=admin, data=UserCreate(full_name="C", email="ADA@example.com"))
    assert (caught.value.extra["field"], caught.value.extra["existing_name"]) == (
        "email",
        "Ada Lovelace",
    )
    named_c = select(func.count()).select_from(User).where(User.full_name == "C")
    assert session.scalar(named_c) == 0
    # The taken identifier wrote nothing and broke nothing: the transaction goes on.
    dan = users.create(session, actor=admin, data=UserCreate(full_name="Dan", phone="07911123456"))
    assert dan.phone == "+447911123456"  # the region was read for the phone number
    actions = select(AuditEntry.action, AuditEntry.target_id).where(
        AuditEntry.workspace_id == admin.workspace_id, AuditEntry.action == "user.created"
    )
    assert {row.target_id for row in session.execute(actions)} >= {bob.id, dan.id}
    events = select(func.count()).where(
        OutboxEvent.workspace_id == admin.workspace_id, OutboxEvent.type == "person.created"
    )
    assert session.scalar(events) == 3  # Ada, Bob, Dan


def test_same_identifier_in_two_workspaces_is_two_people(session: Session, admin: Actor) -> None:
    other = workspaces.create(session, slug="other-directory-ws", name="Other")
    a = make_user(session, admin, email="same@example.com")
    b = make_user(session, actors.system(other.id), email="same@example.com")
    assert a.id != b.id


def test_every_bad_field_is_reported_and_nothing_is_written(session: Session, admin: Actor) -> None:
    with pytest.raises(Invalid) as caught:
        make_user(session, admin, full_name="X", phone="123", email="nope")
    assert {e.field for e in caught.value.errors} == {"phone", "email"}
    count = session.scalar(
        select(AuditEntry.id).where(AuditEntry.workspace_id == admin.workspace_id)
    )
    assert count is None


def test_a_person_needs_a_name_and_a_contact(session: Session, admin: Actor) -> None:
    with pytest.raises(Invalid) as no_name:
        users.create(session, actor=admin, data=UserCreate(email="a@example.com"))
    assert no_name.value.errors[0].field == "full_name"
    with pytest.raises(Invalid) as no_contact:
        users.create(session, actor=admin, data=UserCreate(full_name="A"))
    assert no_contact.value.errors[0].field == "phone"


def test_custom_values_are_checked_against_the_field_type(session: Session, admin: Actor) -> None:
    forms.create_field(
        session, actor=admin, data=FieldCreate(key="seats", label="Seats", type=FieldType.INTEGER)
    )
    forms.create_field(
        session,
        actor=admin,
        data=FieldCreate(key="plan", label="Plan", type=FieldType.ENUM, options=["Free", "Pro"]),
    )
    forms.create_field(
        session, actor=admin, data=FieldCreate(key="since", label="Since", type=FieldType.DATE)
    )
    with pytest.raises(Invalid) as caught:
        make_user(
            session,
            admin,
            attributes={"seats": "ten", "plan": "Gold", "since": "yesterday", "nope": 1},
        )
    assert {e.field for e in caught.value.errors} == {
        "attributes.seats",
        "attributes.plan",
        "attributes.since",
        "attributes.nope",
    }
    user = make_user(session, admin, attributes={"seats": 10, "plan": "Pro", "since": "2024-02-29"})
    assert user.attributes == {"seats": 10, "plan": "Pro", "since": "2024-02-29"}
    users.update(session, actor=admin, user_id=user.id, data=UserUpdate(attributes={"seats": None}))
    assert user.attributes == {"plan": "Pro", "since": "2024-02-29"}


def test_a_custom_time_outside_years_1_to_9999_in_utc_is_refused(
    session: Session, admin: Actor
) -> None:
    """Converting it to UTC overflowed: a 500 (found by fuzzing)."""
    forms.create_field(
        session, actor=admin, data=FieldCreate(key="seen", label="Seen", type=FieldType.DATETIME)
    )
    for moment in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"):
        with pytest.raises(Invalid) as caught:
            make_user(session, admin, attributes={"seen": moment})
        assert [e.field for e in caught.value.errors] == ["attributes.seen"]
        assert "out of range" in caught.value.errors[0].message


def test_a_custom_whole_number_beyond_64_bits_is_refused(session: Session, admin: Actor) -> None:
    """Stored, it could never be compared by a rule (a BIGINT there): refused where it is given."""
    forms.create_field(
        session, actor=admin, data=FieldCreate(key="seats", label="Seats", type=FieldType.INTEGER)
    )
    for number in (2**63, -(2**63) - 1, 10**30):
        with pytest.raises(Invalid) as caught:
            make_user(session, admin, attributes={"seats": number})
        assert [e.field for e in caught.value.errors] == ["attributes.seats"]
        assert "out of range" in caught.value.errors[0].message
    in_workspace = select(func.count()).where(User.workspace_id == admin.workspace_id)
    assert session.scalar(in_workspace) == 0
    for number in (2**63 - 1, -(2**63)):
        user = make_user(session, admin, attributes={"seats": number})
        session.expire(user)
        assert user.attributes == {"seats": number}


def test_updates_are_audited_with_before_and_after(session: Session, admin: Actor) -> None:
    user = make_user(session, admin, full_name="Old Name")
    users.update(session, actor=admin, user_id=user.id, data=UserUpdate(full_name="New Name"))
    entry = session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "user.updated", AuditEntry.target_id == user.id
        )
    ).one()
    assert entry.before == {"full_name": "Old Name"}
    assert entry.after == {"full_name": "New Name"}
    assert entry.actor_label == "test admin"


def test_read_only_cannot_write_and_other_workspaces_are_not_found(
    session: Session, admin: Actor, workspace: Workspace
) -> None:
    user = make_user(session, admin)
    reader = Actor(workspace.id, Role.READ_ONLY, "reader", Origin.API)
    with pytest.raises(Forbidden):
        users.update(session, actor=reader, user_id=user.id, data=UserUpdate(full_name="Nope"))
    other = workspaces.create(session, slug="elsewhere", name="Elsewhere")
    with pytest.raises(NotFound):
        users.get(session, actor=actors.system(other.id), user_id=user.id)


def test_only_admins_set_roles_and_passwords(
    session: Session, admin: Actor, workspace: Workspace
) -> None:
    editor = Actor(workspace.id, Role.STANDARD, "editor", Origin.API)
    with pytest.raises(Forbidden):
        make_user(session, editor, role="admin")
    operator = make_user(session, admin, role="standard", password="correct horse")
    assert operator.password_hash is not None
    assert operator.password_hash.startswith("$argon2")


def test_identified_only_sees_only_themselves(
    session: Session, admin: Actor, workspace: Workspace
) -> None:
    me = make_user(session, admin, full_name="Me", role="identified_only")
    other = make_user(session, admin, full_name="Other")
    viewer = Actor(workspace.id, Role.IDENTIFIED_ONLY, "me", Origin.WEB, user_id=me.id)
    assert users.get(session, actor=viewer, user_id=me.id) is me
    with pytest.raises(NotFound):
        users.get(session, actor=viewer, user_id=other.id)
    page = listing.list_users(session, actor=viewer)
    assert [u.id for u in page.items] == [me.id]


def test_activity_only_moves_forward(session: Session, admin: Actor) -> None:
    user = make_user(session, admin, last_activity_at=datetime(2025, 5, 1, tzinfo=UTC))
    users.record_activity(session, user=user, at=datetime(2024, 1, 1, tzinfo=UTC))
    assert user.last_activity_at == datetime(2025, 5, 1, tzinfo=UTC)
    users.record_activity(session, user=user, at=datetime(2026, 1, 1, tzinfo=UTC))
    assert user.last_activity_at == datetime(2026, 1, 1, tzinfo=UTC)


def test_filter_on_identifier_uses_the_normalized_value(session: Session, admin: Actor) -> None:
    make_user(session, admin, full_name="Target", phone="+447911123456")
    make_user(session, admin, full_name="Other", phone="+447911123457")
    page = listing.list_users(session, actor=admin, rule=parse_filter('phone eq "07911 123456"'))
    assert [u.full_name for u in page.items] == ["Target"]


def test_an_update_cannot_remove_the_last_contact(session: Session, admin: Actor) -> None:
    user = make_user(session, admin, email="only@example.com")
    with pytest.raises(Invalid) as caught:
        users.update(session, actor=admin, user_id=user.id, data=UserUpdate(email=None))
    assert caught.value.errors[0].field == "phone"
