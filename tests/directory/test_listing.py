from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from coterie.actor import Actor
from coterie.directory import export, forms, listing
from coterie.directory.schemas import FieldCreate
from coterie.errors import Invalid
from coterie.rules import FieldType, parse_filter
from tests.conftest import make_user

START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def people(session: Session, admin: Actor) -> list[Any]:
    forms.create_field(
        session, actor=admin, data=FieldCreate(key="score", label="Score", type=FieldType.NUMBER)
    )
    forms.create_field(
        session,
        actor=admin,
        data=FieldCreate(key="plan", label="Plan", type=FieldType.ENUM, options=["Free", "Pro"]),
    )
    made = []
    for i in range(23):
        attributes: dict[str, Any] = {"plan": "Pro" if i % 3 == 0 else "Free"}
        if i % 4:
            attributes["score"] = (i * 7) % 10  # repeated values exercise the id tie-break
        made.append(
            make_user(
                session,
                admin,
                full_name=f"Person {i % 11:02d}",
                email=f"p{i}@example.com",
                last_activity_at=START + timedelta(days=i % 5) if i % 6 else None,
                attributes=attributes,
            )
        )
    return made


def _expected(people: list[Any], key: Any, descending: bool) -> list[int]:
    present = [p for p in people if key(p) is not None]
    missing = [p for p in people if key(p) is None]
    present.sort(key=lambda p: (key(p), p.id), reverse=descending)
    missing.sort(key=lambda p: p.id, reverse=descending)
    return [p.id for p in present + missing]


SORTS = {
    "full_name": lambda p: p.full_name,
    "last_activity_at": lambda p: p.last_activity_at,
    "attributes.score": lambda p: p.attributes.get("score"),
}


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("sort", sorted(SORTS))
def test_keyset_pages_walk_forward_and_back_in_order(
    session: Session, admin: Actor, people: list[Any], sort: str, descending: bool
) -> None:
    expected = _expected(people, SORTS[sort], descending)
    seen: list[int] = []
    cursor = None
    while True:
        page = listing.list_users(
            session, actor=admin, sort=sort, descending=descending, size=5, cursor=cursor
        )
        assert page.total == 23
        seen.extend(u.id for u in page.items)
        if page.next is None:
            break
        cursor = page.next
    assert seen == expected

    backwards: list[int] = []
    page = listing.list_users(
        session, actor=admin, sort=sort, descending=descending, size=5, cursor=page.last
    )
    assert [u.id for u in page.items] == expected[-5:]
    while True:
        backwards[:0] = [u.id for u in page.items]
        if page.prev is None:
            break
        page = listing.list_users(
            session, actor=admin, sort=sort, descending=descending, size=5, cursor=page.prev
        )
    assert backwards == expected


def test_filter_text_and_tree_give_the_same_selection(
    session: Session, admin: Actor, people: list[Any]
) -> None:
    text = listing.list_users(
        session, actor=admin, rule=parse_filter('attributes.plan eq "Pro"'), size=50
    )
    tree = listing.list_users(
        session,
        actor=admin,
        rule=parse_filter({"field": "attributes.plan", "op": "eq", "value": "Pro"}),
        size=50,
    )
    expected = {p.id for p in people if p.attributes["plan"] == "Pro"}
    assert {u.id for u in text.items} == expected == {u.id for u in tree.items}
    assert text.total == len(expected) == 8


def test_unknown_field_or_sort_is_a_clear_error(
    session: Session, admin: Actor, people: list[Any]
) -> None:
    with pytest.raises(Invalid) as bad_field:
        listing.list_users(session, actor=admin, rule=parse_filter('attributes.nope eq "x"'))
    assert "nope" in bad_field.value.detail
    with pytest.raises(Invalid) as bad_sort:
        listing.list_users(session, actor=admin, sort="password_hash")
    assert bad_sort.value.errors[0].field == "sort"


def test_malformed_cursor_is_invalid(session: Session, admin: Actor) -> None:
    with pytest.raises(Invalid) as caught:
        listing.list_users(session, actor=admin, cursor="!!not-a-cursor")
    assert caught.value.errors[0].field == "cursor"


def test_export_streams_the_same_selection_with_formulas_neutralized(
    session: Session, admin: Actor, people: list[Any]
) -> None:
    make_user(
        session,
        admin,
        full_name='=HYPERLINK("http://evil")',
        phone="+447911123456",
        attributes={"plan": "Pro"},
    )
    chunks = export.export_csv(
        session,
        actor=admin,
        rule=parse_filter('attributes.plan eq "Pro"'),
        sort="full_name",
        batch_size=3,
    )
    rows = list(csv.reader(io.StringIO("".join(chunks))))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["id", "full_name", "first_name"]
    assert "attributes.plan" in header
    assert len(body) == 9
    names = [r[1] for r in body]
    assert '\'=HYPERLINK("http://evil")' in names
    phones = [r[header.index("phone")] for r in body if r[header.index("phone")]]
    assert phones == ["+447911123456"]  # a plain number is not mangled
    assert names[1:] == sorted(names[1:])


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("-2+3", "'-2+3"),
        ("+44 7911 123456", "+44 7911 123456"),
        ("plain", "plain"),
    ],
)
def test_neutralize(cell: str, expected: str) -> None:
    assert export.neutralize(cell) == expected


def test_a_cursor_is_refused_under_another_sort(session: Session, admin: Actor) -> None:
    for n in range(3):
        make_user(session, admin, full_name=f"Person {n}")
    page = listing.list_users(session, actor=admin, sort="full_name", size=1)
    assert page.next is not None
    for sort, descending in (("created_at", False), ("full_name", True)):
        with pytest.raises(Invalid) as caught:
            listing.list_users(
                session, actor=admin, sort=sort, descending=descending, size=1, cursor=page.next
            )
        assert caught.value.errors[0].field == "cursor"
