"""How `Matcher` finds the people a batch's rows are, on both databases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from coterie.actor import Actor
from coterie.transfer.matching import Matcher
from coterie.transfer.normalize import Normalized
from tests.conftest import make_user


def row(**identifiers: str) -> Normalized:
    return Normalized(values=dict(identifiers), errors=(), identifiers=identifiers)


def test_a_person_found_by_one_identifier_is_not_looked_up_again_by_another(
    session: Session, admin: Actor
) -> None:
    ada = make_user(session, admin, full_name="Ada", email="ada@example.com", phone="+14155552671")
    bob = make_user(session, admin, full_name="Bob", email="bob@example.com")
    session.flush()
    asked: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FROM users" in statement:
            asked.append(statement)

    bind = session.connection()
    event.listen(bind, "before_cursor_execute", count)
    try:
        matcher = Matcher(session, workspace_id=admin.workspace_id)
        # Ada's phone finds her and her email with her: no query by email.
        (ada_match,) = matcher.match([row(phone="+14155552671", email="ada@example.com")])
        assert len(asked) == 1
        matches = matcher.match(
            [
                row(phone="+14155552671", email="ada@example.com"),
                row(email="bob@example.com"),
                row(phone="+14155552671", email="bob@example.com"),  # two people
                row(email="cy@example.com"),
            ]
        )
    finally:
        event.remove(bind, "before_cursor_execute", count)
    assert (ada_match.kind, ada_match.user and ada_match.user.id) == ("existing", ada.id)
    assert [(m.kind, m.user.id if m.user else None) for m in matches] == [
        ("existing", ada.id),
        ("existing", bob.id),
        ("rejected", None),
        ("new", None),
    ]
    assert matches[2].reason == "its contacts belong to different people (Ada and Bob)"


def test_batches_not_committed_yet_are_remembered_until_settled(
    session: Session, admin: Actor
) -> None:
    matcher = Matcher(session, workspace_id=admin.workspace_id)
    matcher.remember([row(email="ada@example.com")], [101])
    matcher.remember([row(email="bob@example.com")], [102])
    (ada,) = matcher.match([row(email="ada@example.com")])  # two batches back, not committed
    assert (ada.kind, ada.previous) == ("duplicate", 101)
    matcher.settle()  # all but the last batch committed: the database answers for them now
    bob, ada = matcher.match([row(email="bob@example.com"), row(email="ada@example.com")])
    assert (bob.kind, bob.previous) == ("duplicate", 102)
    assert ada.kind == "new"  # not in this test's database: only remembered, then forgotten
