"""What the set-based batch writes (`transfer/upserts.py`) must keep, on both databases: the
merge policies on custom fields, `unchanged` when nothing changes, one person matched twice in a
batch, people whose merges change different columns (SQLite sets only those), and the webhook
events of the people created, updated and added to the group."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session, sessionmaker

from coterie import ids, settings
from coterie.actor import Actor
from coterie.directory import forms
from coterie.directory.models import User
from coterie.directory.schemas import FieldCreate
from coterie.events.models import OutboxEvent
from coterie.rules import FieldType
from coterie.transfer import runner, staging, upserts
from coterie.transfer import service as imports
from coterie.transfer.models import ImportJob, ImportRow
from coterie.transfer.schemas import ImportConfigure
from tests.conftest import make_user

MAPPING = {
    "Name": "full_name",
    "Email": "email",
    "Plan": "attributes.plan",
    "City": "attributes.city",
}


@pytest.fixture
def make_session(connection: Connection) -> sessionmaker[Session]:
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def fields(session: Session, admin: Actor, isolated_settings: settings.Settings) -> None:
    for key in ("plan", "city"):
        data = FieldCreate(key=key, label=key.title(), type=FieldType.TEXT)
        forms.create_field(session, actor=admin, data=data)


def run_import(
    session: Session,
    admin: Actor,
    make_session: sessionmaker[Session],
    text: str,
    *,
    group: str,
    policy: str = "fill",
) -> ImportJob:
    job = imports.upload(
        session, actor=admin, file_name="list.csv", stream=io.BytesIO(text.encode())
    )
    data = ImportConfigure(mapping=MAPPING, group_name=group, merge_policy=policy)  # type: ignore[arg-type]
    imports.configure(session, actor=admin, job_id=job.id, data=data)
    imports.start(session, actor=admin, job_id=job.id)
    session.commit()
    done = runner.run(make_session, workspace_id=admin.workspace_id, job_id=job.id)
    assert done is not None
    assert done.status == "done", done.error
    return done


def outcomes(session: Session, job: ImportJob) -> dict[int, str]:
    rows = session.execute(
        select(ImportRow.row_number, ImportRow.outcome).where(
            ImportRow.workspace_id == job.workspace_id, ImportRow.job_id == job.id
        )
    )
    return {row[0]: row[1] for row in rows}


@pytest.mark.parametrize(
    ("policy", "plan", "city"),
    [("fill", "gold", "Paris"), ("overwrite", "silver", "Paris")],
)
def test_custom_fields_follow_the_merge_policy_and_a_second_run_changes_nothing(
    session: Session,
    admin: Actor,
    fields: None,
    make_session: sessionmaker[Session],
    policy: str,
    plan: str,
    city: str,
) -> None:
    dee = make_user(
        session, admin, full_name="Dee", email="dee@example.com", attributes={"plan": "gold"}
    )
    text = "Name,Email,Plan,City\nDee,dee@example.com,silver,Paris\nEve,eve@example.com,,Rome\n"
    first = run_import(session, admin, make_session, text, group="One", policy=policy)
    assert first.counts == {"updated": 1, "created": 1}
    session.refresh(dee)
    assert dee.attributes == {"plan": plan, "city": city}
    eve = session.scalars(
        select(User).where(User.workspace_id == admin.workspace_id, User.email == "eve@example.com")
    ).one()
    assert (eve.source, eve.attributes, eve.nicknames) == ("import", {"city": "Rome"}, [])
    before = dee.updated_at
    second = run_import(session, admin, make_session, text, group="Two", policy=policy)
    assert second.counts == {"unchanged": 2}
    session.refresh(dee)
    assert dee.updated_at == before


def test_an_empty_name_is_filled_and_a_set_one_is_kept(
    session: Session, admin: Actor, fields: None, make_session: sessionmaker[Session]
) -> None:
    kim = make_user(session, admin, first_name="Kim", email="kim@example.com")
    text = "Name,Email,Plan,City\nKimberly Ray,kim@example.com,,\n"
    done = run_import(session, admin, make_session, text, group="Kept")
    assert done.counts == {"unchanged": 1}
    session.refresh(kim)
    assert kim.full_name == "Kim"


def test_a_person_reached_by_two_identifiers_in_one_batch_is_written_once(
    session: Session, admin: Actor, fields: None, make_session: sessionmaker[Session]
) -> None:
    MAPPING["Phone"] = "phone"
    try:
        make_user(session, admin, full_name="Flo", email="flo@example.com", phone="+14155552671")
        text = (
            "Name,Email,Phone,Plan,City\nFlo,flo@example.com,,basic,\nFlo,,+1 415 555 2671,,Oslo\n"
        )
        done = run_import(session, admin, make_session, text, group="Twice")
    finally:
        del MAPPING["Phone"]
    assert done.counts == {"updated": 1, "duplicate": 1}
    assert outcomes(session, done) == {1: "updated", 2: "duplicate"}


def test_the_import_writes_the_people_and_membership_events(
    session: Session, admin: Actor, fields: None, make_session: sessionmaker[Session]
) -> None:
    old = make_user(session, admin, full_name="Old", email="old@example.com")
    text = "Name,Email,Plan,City\nOld,old@example.com,pro,\nNew,new@example.com,,\nBad,,,\n"
    done = run_import(session, admin, make_session, text, group="Events")
    new = session.scalars(
        select(User.id).where(
            User.workspace_id == admin.workspace_id, User.email == "new@example.com"
        )
    ).one()
    events: dict[str, list[Any]] = {}
    for event in session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.workspace_id == admin.workspace_id)
        .order_by(OutboxEvent.seq)
    ):
        events.setdefault(event.type, []).append(event.data)
    imported = {
        kind: [e["user_ids"] for e in events[kind] if e.get("reason") == "import"]
        for kind in ("person.created", "person.updated")
    }
    assert imported == {
        "person.created": [[ids.encode(new)]],
        "person.updated": [[ids.encode(old.id)]],
    }
    added = [e for e in events["membership.added"] if e.get("group", {}).get("name") == "Events"]
    assert added, events["membership.added"]
    assert sorted(i for e in added for i in e["user_ids"]) == sorted(
        [ids.encode(new), ids.encode(old.id)]
    )
    assert done.counts == {"updated": 1, "created": 1, "rejected": 1}


def test_each_matched_persons_custom_fields_are_merged_once(
    session: Session,
    admin: Actor,
    fields: None,
    make_session: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str | None] = []
    merge = upserts.merge_attributes

    def counted(current: str | None, new: str | None, overwrite: int) -> str | None:
        calls.append(current)
        return merge(current, new, overwrite)

    monkeypatch.setattr(upserts, "merge_attributes", counted)
    for name in ("Dee", "Fay"):
        make_user(session, admin, full_name=name, email=f"{name.lower()}@example.com")
    text = "Name,Email,Plan,City\nDee,dee@example.com,gold,\nFay,fay@example.com,,Oslo\n"
    done = run_import(session, admin, make_session, text, group="One")
    assert done.counts == {"updated": 2}
    # SQLite: once per person (the test of a change and the update read its result); PostgreSQL
    # merges in SQL and never calls the Python merge.
    assert len(calls) == (2 if session.get_bind().dialect.name == "sqlite" else 0)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # a SQLite setting
def test_sqlite_batches_get_a_larger_page_cache_and_give_it_back(
    session: Session,
    admin: Actor,
    fields: None,
    make_session: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def cache_size() -> int:
        return int(session.connection().exec_driver_sql("PRAGMA cache_size").scalar_one())

    before = cache_size()
    seen: list[int] = []
    insert_created = upserts.insert_created

    def spied(writing: Session, job: ImportJob, *, now: Any) -> None:
        seen.append(int(writing.connection().exec_driver_sql("PRAGMA cache_size").scalar_one()))
        insert_created(writing, job, now=now)

    monkeypatch.setattr(upserts, "insert_created", spied)
    text = "Name,Email,Plan,City\nAda,ada@example.com,,\n"
    done = run_import(session, admin, make_session, text, group="A")
    assert done.counts == {"created": 1}
    assert seen == [-staging.SQLITE_CACHE_KIB]
    assert cache_size() == before

    def failing(writing: Session, job: ImportJob, *, now: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(upserts, "insert_created", failing)
    job = imports.upload(
        session,
        actor=admin,
        file_name="b.csv",
        stream=io.BytesIO(b"Name,Email,Plan,City\nBo,bo@example.com,,\n"),
    )
    imports.configure(
        session, actor=admin, job_id=job.id, data=ImportConfigure(mapping=MAPPING, group_name="B")
    )
    imports.start(session, actor=admin, job_id=job.id)
    session.commit()
    with pytest.raises(RuntimeError, match="disk on fire"):
        runner.run(make_session, workspace_id=admin.workspace_id, job_id=job.id)
    assert cache_size() == before


PHONED = {**MAPPING, "Phone": "phone"}
PEOPLE = (
    "Name,Email,Phone,Plan,City\n"
    "Gil,gil@example.com,+1 415 555 2672,,\n"  # fills his phone
    "Hal,hal@example.com,,gold,\n"  # a custom field
    "Ivy,ivy@example.com,+1 415 555 2673,,Oslo\n"  # both
    "Jon,jon@example.com,,,\n"  # nothing
)


def import_people(session: Session, admin: Actor, make_session: sessionmaker[Session]) -> None:
    for name in ("Gil", "Hal", "Ivy", "Jon"):
        make_user(session, admin, full_name=name, email=f"{name.lower()}@example.com")
    job = imports.upload(
        session, actor=admin, file_name="p.csv", stream=io.BytesIO(PEOPLE.encode())
    )
    data = ImportConfigure(mapping=PHONED, group_name="People")
    imports.configure(session, actor=admin, job_id=job.id, data=data)
    imports.start(session, actor=admin, job_id=job.id)
    session.commit()
    done = runner.run(make_session, workspace_id=admin.workspace_id, job_id=job.id)
    assert done is not None
    assert done.counts == {"updated": 3, "unchanged": 1}, done.error


@pytest.mark.parametrize("column_sets", [upserts.MAX_COLUMN_SETS, 1])
def test_people_whose_merges_change_different_columns_are_each_merged(
    session: Session,
    admin: Actor,
    fields: None,
    make_session: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    column_sets: int,
) -> None:
    # With one set at most (SQLite), the batch's people are written by one UPDATE of the union.
    monkeypatch.setattr(upserts, "MAX_COLUMN_SETS", column_sets)
    import_people(session, admin, make_session)
    people = session.execute(
        select(User.full_name, User.phone, User.attributes)
        .where(User.workspace_id == admin.workspace_id)
        .order_by(User.full_name)
    )
    assert [tuple(person) for person in people] == [
        ("Gil", "+14155552672", {}),
        ("Hal", None, {"plan": "gold"}),
        ("Ivy", "+14155552673", {"city": "Oslo"}),
        ("Jon", None, {}),
    ]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # how SQLite updates
def test_sqlite_sets_only_the_columns_a_persons_merge_changes(
    session: Session, admin: Actor, fields: None, make_session: sessionmaker[Session]
) -> None:
    # SQLite rewrites the index entries of every column an UPDATE sets, even to the same value;
    # a trigger `OF` a column fires exactly when it is set.
    sqlite = session.connection().exec_driver_sql
    sqlite("CREATE TEMP TABLE set_columns (name TEXT, col TEXT)")
    for column in ("full_name", "email", "phone", "attributes"):
        sqlite(
            f"CREATE TEMP TRIGGER set_{column} AFTER UPDATE OF {column} ON main.users"
            f" BEGIN INSERT INTO set_columns VALUES (new.full_name, '{column}'); END"
        )
    import_people(session, admin, make_session)
    written = sqlite("SELECT name, col FROM set_columns ORDER BY name, col")
    assert [tuple(row) for row in written] == [
        ("Gil", "phone"),
        ("Hal", "attributes"),
        ("Ivy", "attributes"),
        ("Ivy", "phone"),
    ]
