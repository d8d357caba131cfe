"""Totals read from `field_value_counts` equal the people a filter selects, whatever the writes."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from coterie.actor import Actor
from coterie.directory import counts, forms, listing
from coterie.directory import service as directory
from coterie.directory.models import Field, FieldValueCount, User
from coterie.directory.schemas import FieldCreate, UserUpdate
from coterie.directory.service import workspace_fields
from coterie.pagination import count_rows
from coterie.rules import FieldType, Rule, parse_filter, parse_tree
from tests.conftest import make_user

PLANS = ["Free", "Pro", "Enterprise"]
FILTERS = [
    'attributes.plan eq "Pro"',
    'attributes.plan eq "Free"',
    'attributes.plan eq "Enterprise"',
    'Attributes.PLAN eq "Pro"',
    'attributes.plan ne "Pro"',
    "attributes.vip eq true",
    "attributes.vip eq false",
    "attributes.vip ne true",
    'attributes.city eq "london"',
    'attributes.plan eq "Pro" and attributes.vip eq true',
]
TREES = [
    {"field": "attributes.plan", "op": "in", "value": ["Pro", "Enterprise"]},
    {"all": [{"field": "attributes.plan", "op": "eq", "value": "Free"}]},
    {"any": [{"all": [{"field": "attributes.vip", "op": "eq", "value": True}]}]},
]
RULES: list[Rule] = [parse_filter(f) for f in FILTERS] + [parse_tree(t) for t in TREES]


def _field(session: Session, admin: Actor, key: str, kind: FieldType, **extra: Any) -> Field:
    data = FieldCreate(key=key, label=key.title(), type=kind, **extra)
    return forms.create_field(session, actor=admin, data=data)


@pytest.fixture
def crowd(session: Session, admin: Actor) -> list[Any]:
    _field(session, admin, "plan", FieldType.ENUM, options=PLANS)
    _field(session, admin, "vip", FieldType.BOOLEAN)
    _field(session, admin, "city", FieldType.TEXT)
    made = []
    for i in range(30):
        attributes: dict[str, Any] = {"city": "London" if i % 2 else "Paris"}
        if i % 7:
            attributes["plan"] = PLANS[i % 3]
        if i % 5:
            attributes["vip"] = i % 2 == 0
        made.append(make_user(session, admin, full_name=f"P {i}", attributes=attributes))
    return made


def _over_people(session: Session, admin: Actor, rule: Rule) -> int:
    custom = workspace_fields(session, workspace_id=admin.workspace_id)
    return count_rows(session, listing.selection(session, actor=admin, rule=rule, custom=custom))


def _check_all(session: Session, admin: Actor) -> None:
    for rule in RULES:
        expected = _over_people(session, admin, rule)
        assert listing.count_users(session, actor=admin, rule=rule) == expected, rule
        page = listing.list_users(session, actor=admin, rule=rule, size=10)
        assert page.total == expected, rule


def test_counts_equal_the_people_selected(session: Session, admin: Actor, crowd: Any) -> None:
    _check_all(session, admin)


def test_counts_follow_updates_deletes_and_bulk_sql(
    session: Session, admin: Actor, crowd: list[Any]
) -> None:
    for person in crowd[:6]:
        data = UserUpdate(attributes={"plan": "Pro", "vip": None})
        directory.update(session, actor=admin, user_id=person.id, data=data)
    directory.delete(session, actor=admin, user_id=crowd[7].id)
    users = User.__table__.c
    # Values a rule reads as unset: the wrong JSON type, JSON null. And a bulk change.
    session.execute(
        update(User)
        .where(users.id.in_([crowd[8].id, crowd[9].id]))
        .values(attributes={"plan": 3, "vip": "true"})
    )
    session.execute(update(User).where(users.id == crowd[10].id).values(attributes={"plan": None}))
    session.execute(
        update(User)
        .where(users.workspace_id == admin.workspace_id, users.id.in_([p.id for p in crowd[20:]]))
        .values(attributes={"plan": "Enterprise", "vip": True})
    )
    session.execute(delete(User).where(users.id == crowd[11].id))
    session.expire_all()
    _check_all(session, admin)


def test_a_new_field_counts_the_values_already_stored(
    session: Session, admin: Actor, crowd: list[Any]
) -> None:
    """A field deleted and created again finds its key's values still in the people."""
    custom = workspace_fields(session, workspace_id=admin.workspace_id)
    plan = next(f for f in custom if f.key == "plan")
    forms.delete_field(session, actor=admin, field_id=plan.id)
    _field(session, admin, "plan", FieldType.ENUM, options=PLANS)
    _check_all(session, admin)


def test_postgresql_reads_the_counts_not_the_people(
    session: Session, admin: Actor, crowd: list[Any]
) -> None:
    custom = workspace_fields(session, workspace_id=admin.workspace_id)
    rule = parse_filter('attributes.plan eq "Pro"')
    found = counts.tally(session, actor=admin, rule=rule, custom=custom)
    if session.get_bind().dialect.name != "postgresql":
        assert found is None  # SQLite keeps no counts: the list counts its people
        return
    assert found == _over_people(session, admin, rule)
    # A filter the counts cannot answer says so, and is counted over the people.
    for other in ('attributes.plan ne "Pro"', 'attributes.city eq "London"'):
        assert counts.tally(session, actor=admin, rule=parse_filter(other), custom=custom) is None


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_many_writes_fold_into_one_row_per_value(
    session: Session, admin: Actor, crowd: list[Any]
) -> None:
    """The counts are kept by PostgreSQL triggers; SQLite keeps none."""
    for round_ in range(4):
        for person in crowd:
            data = UserUpdate(attributes={"plan": PLANS[(round_ + person.id) % 3]})
            directory.update(session, actor=admin, user_id=person.id, data=data)
    session.flush()
    c = FieldValueCount.__table__.c
    plan = select(Field.id).where(Field.workspace_id == admin.workspace_id, Field.key == "plan")
    rows = session.scalar(select(func.count()).where(c.field_id == plan.scalar_subquery()))
    assert rows is not None
    assert rows <= 2 * 3 + 32 + 2  # folded as it grew (120 writes would leave 240 rows)
    _check_all(session, admin)
