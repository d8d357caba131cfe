"""`POST /Users` as a server process serves it (`scim.creates`): the person, their document,
their audit entry and webhook event written at once without the unit of work, the same rows the
general create writes; and every case it cannot finish alone given way to the general create,
which answers as before."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coterie import actor as actors
from coterie import db, ids
from coterie.access import scim as scim_tokens
from coterie.access.provisioning import ScimUser
from coterie.directory import forms
from coterie.directory.models import User
from coterie.directory.schemas import FieldCreate
from coterie.events import outbox
from coterie.events.models import AuditEntry, OutboxEvent
from coterie.groups import service as groups
from coterie.groups.models import Membership
from coterie.groups.schemas import GroupCreate, GroupUpdate
from coterie.scim import app as scim_app
from coterie.scim import creates
from tests.scim.conftest import Served

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
COTERIE = "urn:coterie:params:scim:schemas:extension:workspace:2.0:User"


def post(served: Served, body: dict[str, Any]) -> tuple[int, Any]:
    return asyncio.run(served.call("POST", "/Users", body=body))


@contextmanager
def session() -> Iterator[Session]:
    with db.get_sessionmaker()() as opened:
        yield opened


def counts(served: Served) -> dict[str, int]:
    """How many rows of each kind a create writes the workspace has."""
    found = {}
    with session() as s:
        for kind in (User, ScimUser, AuditEntry, OutboxEvent, Membership):
            stmt = select(func.count()).select_from(kind)
            found[kind.__name__] = int(s.scalar(stmt.filter_by(workspace_id=served.workspace_id)))
    return found


def written(served: Served, person_id: str) -> dict[str, Any]:
    """The rows a create of `person_id` wrote, without what differs between any two people
    (ids, times, names)."""
    user_id = ids.decode(person_id)
    with session() as s:
        person = s.get(User, (served.workspace_id, user_id))
        profile = s.get(ScimUser, (served.workspace_id, user_id))
        entry = s.scalars(
            select(AuditEntry).filter_by(workspace_id=served.workspace_id, target_id=user_id)
        ).one()
        event = s.scalars(
            select(OutboxEvent)
            .filter_by(workspace_id=served.workspace_id, type="person.created")
            .where(OutboxEvent.data["user"]["id"].as_string() == person_id)
        ).one()
    assert person is not None
    assert profile is not None
    varying = {"id", "created_at", "updated_at"}
    return {
        "person": {k: v for k, v in vars(person).items() if k[0] != "_" and k not in varying},
        "document": {k: v for k, v in profile.document.items() if k != "userName"},
        "entry": (entry.action, entry.origin, entry.actor_label, entry.target_label, entry.after),
        "event": {k: v for k, v in event.data.items() if k not in ("user", "user_ids")},
        "event user": {k: v for k, v in event.data["user"].items() if k != "id"},
    }


def body(user_name: str, **more: Any) -> dict[str, Any]:
    return {
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": "Bo", "familyName": "Ek"},
        "nickName": "bo",
        "title": "Engineer",
        **more,
    }


def test_a_create_writes_at_once_what_the_general_create_writes(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scim_app, "request_session", _refused)
    status, fast = post(served, body("bo"))
    assert status == 201, fast
    monkeypatch.undo()

    with monkeypatch.context() as patched:
        patched.setattr(creates, "write", _declined)
        status, general = post(served, body("bo2"))
    assert status == 201, general

    assert written(served, fast["id"]) == written(served, general["id"])
    assert fast["userName"] == "bo"
    assert fast["name"]["givenName"] == "Bo"
    assert {k: v for k, v in fast.items() if k not in ("id", "userName", "meta")} == {
        k: v for k, v in general.items() if k not in ("id", "userName", "meta")
    }
    status, read = asyncio.run(served.get(f"/Users/{fast['id']}"))
    assert status == 200
    assert read == fast


def _refused() -> Any:
    raise AssertionError("the general create was used")


async def _declined(rows: creates.Rows) -> bool:
    return False


def test_a_create_wakes_the_delivery_of_its_event(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    woken: list[bool] = []
    outbox.set_notifier(lambda: woken.append(True))
    monkeypatch.setattr(scim_app, "request_session", _refused)
    status, made = post(served, body("cy"))
    assert status == 201, made
    assert woken == [True]


def test_creates_that_arrive_together_are_one_batch_and_wake_delivery_once(
    served: Served,
) -> None:
    assert post(served, body("first"))[0] == 201  # the token remembered
    batch = [rows_of(served, name) for name in ("rae", "sam", "tia")]
    woken: list[bool] = []
    outbox.set_notifier(lambda: woken.append(True))

    async def together() -> list[bool]:
        return list(await asyncio.gather(*(creates.write(rows) for rows in batch)))

    before = counts(served)
    assert asyncio.run(together()) == [True, True, True]
    assert woken == [True]
    assert counts(served)["User"] - before["User"] == 3


def test_a_person_a_rule_selects_is_created_by_the_general_create(served: Served) -> None:
    admin = actors.system(served.workspace_id)
    with session() as s:
        rule = GroupCreate(name="Bo", selection="rule", include='full_name sw "Bo"')
        group = groups.create(s, actor=admin, data=rule)
        s.commit()
    status, made = post(served, body("bo"))
    assert status == 201, made
    with session() as s:
        members = s.scalars(select(Membership.user_id).filter_by(group_id=group.id)).all()
        assert members == [ids.decode(made["id"])]
        changed = GroupUpdate(include='full_name sw "Cy"')  # a new rules version
        groups.update(s, actor=admin, group_id=group.id, data=changed)
        s.commit()
    status, other = post(served, body("bo-2"))  # no rule selects them: written at once
    assert status == 201, other
    with session() as s:
        members = s.scalars(select(Membership.user_id).filter_by(group_id=group.id)).all()
        assert members == []


def test_a_rule_on_a_field_the_create_leaves_to_its_default_selects_the_person(
    served: Served,
) -> None:
    """The rules read the person as stored: a field the body does not give has its default
    (a role of "none", scoring off), not nothing."""
    admin = actors.system(served.workspace_id)
    with session() as s:
        rule = 'role eq "none" and scoring_enabled eq false'
        group = groups.create(
            s, actor=admin, data=GroupCreate(name="Nobody", selection="rule", include=rule)
        )
        s.commit()
    status, made = post(served, body("cy"))
    assert status == 201, made
    with session() as s:
        members = s.scalars(select(Membership.user_id).filter_by(group_id=group.id)).all()
        assert ids.decode(made["id"]) in members


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"userName": "ANN"}, "userName"),  # the fixture's person: names match ignoring case
        ({"emails": [{"value": "ann@example.com", "primary": True}]}, "email"),
    ],
)
def test_a_taken_name_or_identifier_answers_409_and_writes_nothing(
    served: Served, given: dict[str, Any], field: str
) -> None:
    before = counts(served)
    status, answer = post(served, {**body("dee"), **given})
    assert status == 409, answer
    assert answer["scimType"] == "uniqueness"
    assert field in answer["detail"]
    assert counts(served) == before


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"userName": ""}, "userName"),
        ({"emails": [{"value": "not an email"}]}, "email"),
        ({COTERIE: {"nope": 1}}, COTERIE),  # a workspace without custom fields
    ],
)
def test_bad_input_answers_400_naming_the_field_and_writes_nothing(
    served: Served, given: dict[str, Any], field: str
) -> None:
    before = counts(served)
    status, answer = post(served, {**body("eve"), **given})
    assert status == 400, answer
    assert field in answer["detail"]
    assert counts(served) == before


def test_a_revoked_token_answers_401_and_writes_nothing(served: Served) -> None:
    admin = actors.system(served.workspace_id)
    with session() as s:
        (token,) = scim_tokens.list_tokens(s, actor=admin)
        scim_tokens.revoke(s, actor=admin, token_id=token.id)
        s.commit()
    before = counts(served)
    status, answer = post(served, body("fay"))
    assert status == 401, answer
    assert counts(served) == before


def test_a_token_revoked_since_it_was_last_read_answers_401_and_writes_nothing(
    served: Served,
) -> None:
    status, made = post(served, body("hal"))  # the token is read, and remembered
    assert status == 201, made
    test_a_revoked_token_answers_401_and_writes_nothing(served)


def test_a_field_added_since_the_token_was_last_read_is_taken(served: Served) -> None:
    """The workspace's fields as last read had no `team`: the create is not refused for it."""
    status, made = post(served, body("ida"))
    assert status == 201, made
    with session() as s:
        data = FieldCreate(key="team", label="Team", type="text")
        forms.create_field(s, actor=actors.system(served.workspace_id), data=data)
        s.commit()
    given = {"schemas": [USER, COTERIE], COTERIE: {"team": "Blue"}}
    status, made = post(served, body("jo", **given))
    assert status == 201, made
    assert made[COTERIE] == {"team": "Blue"}
    with session() as s:
        person = s.get(User, (served.workspace_id, ids.decode(made["id"])))
        assert person is not None
        assert person.attributes == {"team": "Blue"}


def rows_of(served: Served, user_name: str, **more: Any) -> creates.Rows:
    """The rows a create of `user_name` writes, built by the remembered token's caller."""

    async def built() -> creates.Rows:
        request = served.request("POST", "/Users", body(user_name, **more))
        await request.body()
        secret_hash, caller = scim_tokens.remembered(served.secret)
        assert caller is not None
        create = await creates.built(request, caller, secret_hash)
        assert create.rows is not None
        return create.rows

    return asyncio.run(built())


def write_batch(served: Served, batch: list[creates.Rows]) -> list[bool]:
    """The batch written as the creates that arrive together are (`scim.batches`)."""
    if served.engine.dialect.name == "postgresql":
        return asyncio.run(creates.write_on_postgresql(batch))
    with db.get_engine().connect() as connection:
        return creates.write_on_sqlite(connection, batch)


def test_a_batch_writes_the_creates_it_can_and_leaves_nothing_of_the_others(
    served: Served,
) -> None:
    assert post(served, body("first"))[0] == 201  # the token remembered
    batch = [
        rows_of(served, "kim"),
        rows_of(served, "ann"),  # the fixture's person's userName
        rows_of(served, "lou", emails=[{"value": "ann@example.com"}]),  # the fixture's email
        rows_of(served, "max", emails=[{"value": "max@example.com"}]),
        rows_of(served, "ned", emails=[{"value": "max@example.com"}]),  # max's, in the batch
        rows_of(served, "oz"),
    ]
    stale = batch[5].workspace
    batch[5].workspace = replace(stale, rules_version=stale.rules_version + 1)
    before = counts(served)
    assert write_batch(served, batch) == [True, False, False, True, False, False]
    after = counts(served)
    for kind in ("User", "ScimUser", "AuditEntry", "OutboxEvent"):
        assert after[kind] - before[kind] == 2, kind
    with session() as s:
        names = select(ScimUser.user_name).filter_by(workspace_id=served.workspace_id)
        assert sorted(s.scalars(names)) == ["ann", "first", "kim", "max"]
        entries = select(AuditEntry.target_id).filter_by(workspace_id=served.workspace_id)
        assert {batch[0].person_id, batch[3].person_id} <= set(s.scalars(entries))


def test_a_username_twice_in_a_batch_is_written_at_most_once(served: Served) -> None:
    """SQLite writes the first and not the second; PostgreSQL's one statement fails and writes
    neither (both then go to the general create, which refuses the second)."""
    assert post(served, body("first"))[0] == 201
    batch = [rows_of(served, "pia"), rows_of(served, "PIA"), rows_of(served, "quin")]
    before = counts(served)
    written = write_batch(served, batch)
    if served.engine.dialect.name == "postgresql":
        assert written == [False, False, False]
    else:
        assert written == [True, False, True]
    after = counts(served)
    assert after["ScimUser"] - before["ScimUser"] == written.count(True)
    assert after["User"] - before["User"] == written.count(True)


def test_rows_built_by_rules_no_longer_current_are_not_written(served: Served) -> None:
    """The rules changed after the token was read: the person's groups were found by old
    rules, so nothing is written (the general create then evaluates them again)."""

    async def attempt() -> bool:
        request = served.request("POST", "/Users", body("gus"))
        await request.body()
        with db.get_engine().connect() as connection:
            caller = scim_tokens.authenticate(connection, secret=served.secret)
        secret_hash = scim_tokens.remembered(served.secret)[0]
        create = await creates.built(request, caller, secret_hash)
        assert create.rows is not None
        workspace = create.rows.workspace
        create.rows.workspace = replace(workspace, rules_version=workspace.rules_version - 1)
        return await creates.write(create.rows)

    before = counts(served)
    assert asyncio.run(attempt()) is False
    assert counts(served) == before


class Counting:
    """An ASGI application counting the requests that reach it."""

    def __init__(self, app: Any) -> None:
        self.app, self.calls = app, 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        await self.app(scope, receive, send)


def test_hot_requests_skip_the_middleware_and_carry_the_security_headers(
    served: Served,
) -> None:
    app: Any = served.app
    stack = app.middleware_stack = Counting(app.build_middleware_stack())
    status, made = post(served, body("pat"))
    assert status == 201, made
    assert served.headers["x-frame-options"] == "DENY"
    assert served.headers["x-content-type-options"] == "nosniff"
    status, _ = asyncio.run(served.get(f"/Users/{made['id']}"))
    assert status == 200
    assert served.headers["x-frame-options"] == "DENY"
    assert stack.calls == 0

    status, _ = asyncio.run(served.get("/ServiceProviderConfig"))  # not a hot request
    assert status == 200
    assert served.headers["x-frame-options"] == "DENY"
    assert stack.calls == 1
