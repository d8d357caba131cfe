"""The import flow end to end on both databases: upload, map, preview, run, resume, report."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import python_calamine
import xlsxwriter  # type: ignore[import-untyped]
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session, sessionmaker

from coterie import actor as actors
from coterie import settings
from coterie.actor import Actor
from coterie.db import utcnow
from coterie.directory import forms
from coterie.directory.models import User
from coterie.directory.schemas import FieldCreate
from coterie.errors import Conflict, Invalid, TooLarge
from coterie.groups import service as groups
from coterie.groups.models import Group, Membership
from coterie.groups.schemas import GroupCreate
from coterie.transfer import runner, spreadsheets
from coterie.transfer import service as imports
from coterie.transfer.models import ImportJob
from coterie.transfer.schemas import ImportConfigure
from coterie.workspaces import service as workspaces
from tests.conftest import make_user

CSV = (
    "\ufeffName;E-mail;Mobile;Plan\r\n"
    "Ann Lee;ann@example.com;+1 415 555 2671;gold\r\n"
    "Bob Roe;BOB@example.com;;silver\r\n"
    "No Contact;;;gold\r\n"
    "Ann Again;ann@example.com;;\r\n"
    "Cid Poe;cid@example.com;+1 415 555 2672;\r\n"
)


@pytest.fixture
def data_dir(isolated_settings: settings.Settings) -> settings.Settings:
    return isolated_settings


@pytest.fixture
def make_session(connection: Connection) -> sessionmaker[Session]:
    """Sessions for the runner on the test's connection: its commits stay inside the test."""
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


def upload(session: Session, actor: Actor, text: str, name: str = "contacts.csv") -> ImportJob:
    return imports.upload(
        session, actor=actor, file_name=name, stream=io.BytesIO(text.encode("utf-8"))
    )


def run(make_session: sessionmaker[Session], job: ImportJob) -> ImportJob:
    done = runner.run(make_session, workspace_id=job.workspace_id, job_id=job.id)
    assert done is not None
    return done


def test_a_messy_csv_becomes_people_and_a_group(
    session: Session, admin: Actor, data_dir: settings.Settings, make_session: sessionmaker[Session]
) -> None:
    existing = make_user(session, admin, full_name="Bob R.", email="bob@example.com")
    job = upload(session, admin, CSV)
    assert job.delimiter == ";"
    assert job.headers == ["Name", "E-mail", "Mobile", "Plan"]
    assert job.mapping == {"Name": "full_name", "E-mail": "email", "Mobile": "phone", "Plan": None}
    assert imports.dry_run(session, actor=admin, job_id=job.id).model_dump(exclude={"reasons"}) == {
        "rows": 5, "valid": 4, "invalid": 1, "new": 2, "existing": 1, "duplicates": 1,
        "dropped_columns": ["Plan"], "outside_form": [],
    }  # fmt: skip
    imports.configure(
        session, actor=admin, job_id=job.id, data=ImportConfigure(group_name="Spring fair")
    )
    imports.start(session, actor=admin, job_id=job.id)
    session.commit()
    done = run(make_session, job)
    assert done.status == "done"
    assert done.counts == {
        "created": 2,
        "unchanged": 1,
        "duplicate": 1,
        "rejected": 1,
    }
    group = session.get(Group, (admin.workspace_id, done.group_id))
    assert group is not None
    assert group.source == "import"
    names = set(
        session.scalars(
            select(User.full_name)
            .join(
                Membership,
                (Membership.user_id == User.id) & (Membership.workspace_id == User.workspace_id),
            )
            .where(Membership.group_id == group.id)
        )
    )
    assert names == {"Ann Lee", "Bob R.", "Cid Poe"}
    assert group.member_count == 3
    session.refresh(existing)
    assert existing.full_name == "Bob R."  # fill: nothing empty to fill
    report = list(
        csv.reader(io.StringIO("".join(imports.rejected_csv(session, actor=admin, job_id=job.id))))
    )
    assert report[0] == ["row", "reason", "Name", "E-mail", "Mobile", "Plan"]
    assert report[1][0] == "3"
    assert "contact" in report[1][1]
    assert report[1][2:] == ["No Contact", "", "", "gold"]


def test_a_mapping_without_contact_is_refused_naming_what_is_missing(
    session: Session, admin: Actor, data_dir: settings.Settings
) -> None:
    job = upload(session, admin, "Name,Plan\nAnn,gold\n")
    with pytest.raises(Invalid) as caught:
        imports.start(session, actor=admin, job_id=job.id)
    assert any("contact" in e.message for e in caught.value.errors)


def test_the_declared_size_is_refused_before_reading(
    session: Session, admin: Actor, data_dir: settings.Settings
) -> None:
    limit = workspaces.get(session, workspace_id=admin.workspace_id).upload_limit_bytes

    class Unreadable(io.RawIOBase):
        def read(self, size: int = -1) -> bytes:
            raise AssertionError("the body was read")

    with pytest.raises(TooLarge):
        imports.upload(
            session,
            actor=admin,
            file_name="big.csv",
            stream=Unreadable(),  # type: ignore[arg-type]
            declared_size=limit + 1,
        )


def _rows(count: int, start: int = 0) -> str:
    lines = ["Full name,Email"]
    lines += [f"Person {i},p{i}@example.com" for i in range(start, start + count)]
    return "\n".join(lines) + "\n"


def _people(session: Session, workspace_id: int) -> int:
    stmt = select(func.count()).select_from(User).where(User.workspace_id == workspace_id)
    return int(session.scalar(stmt) or 0)


class Killed(BaseException):
    """Stands for the process dying: not an Exception, so nothing marks the job failed."""


def _killed(
    session: Session, admin: Actor, make_session: sessionmaker[Session], rows: int, at: int
) -> ImportJob:
    """An import of `rows` people, its process dead once its progress reached `at` rows."""
    job = upload(session, admin, _rows(rows))
    imports.start(session, actor=admin, job_id=job.id)
    session.commit()

    def die(done: int, total: int | None) -> None:
        if done >= at:
            raise Killed

    with pytest.raises(Killed):
        runner.run(make_session, workspace_id=admin.workspace_id, job_id=job.id, progress=die)
    session.expire_all()
    return job


def _resumed(
    session: Session, admin: Actor, make_session: sessionmaker[Session], job: ImportJob
) -> None:
    """Found stale, resumed to the end: every row's person once, and the group of them all."""
    later = utcnow() + runner.stale_after() + timedelta(seconds=1)
    assert runner.recover(session, now=later) == [(admin.workspace_id, job.id)]
    session.commit()
    done = run(make_session, job)
    assert (done.status, done.counts) == ("done", {"created": job.rows_total})
    assert _people(session, admin.workspace_id) == job.rows_total
    group = session.get(Group, (admin.workspace_id, done.group_id))
    assert group is not None
    assert group.member_count == job.rows_total


def test_an_interrupted_import_resumes_without_duplicates(
    session: Session,
    admin: Actor,
    data_dir: settings.Settings,
    make_session: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runner, "BATCH", 10)
    job = _killed(session, admin, make_session, rows=35, at=20)
    assert job.status == "running"
    assert job.rows_done == 20
    assert (
        session.scalar(
            select(func.count()).select_from(Group).where(Group.workspace_id == admin.workspace_id)
        )
        == 0
    )
    assert _people(session, admin.workspace_id) == 20
    assert runner.recover(session, now=utcnow()) == []  # still fresh: not stale yet
    _resumed(session, admin, make_session, job)


def test_an_import_killed_between_grouped_commits_resumes_from_the_last(
    session: Session,
    admin: Actor,
    data_dir: settings.Settings,
    make_session: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On SQLite, batches of the largest size commit `SQLITE_BATCHES_PER_COMMIT` at a time: a
    death between two commits loses the batches since the last one, which the resume redoes."""
    monkeypatch.setattr(runner, "BATCH", 10)
    monkeypatch.setattr(runner, "MAX_BATCH", 10)
    job = _killed(session, admin, make_session, rows=75, at=60)
    committed = 40 if session.get_bind().dialect.name == "sqlite" else 60
    assert (job.rows_done, _people(session, admin.workspace_id)) == (committed, committed)
    _resumed(session, admin, make_session, job)


def test_a_failed_import_is_marked_with_its_reason_and_makes_no_group(
    session: Session,
    admin: Actor,
    data_dir: settings.Settings,
    make_session: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runner, "BATCH", 10)
    job = upload(session, admin, _rows(25))
    imports.start(session, actor=admin, job_id=job.id)
    session.commit()

    def broken(done: int, total: int | None) -> None:
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        runner.run(make_session, workspace_id=admin.workspace_id, job_id=job.id, progress=broken)
    session.expire_all()
    assert job.status == "failed"
    assert job.error == "RuntimeError: disk on fire"
    assert job.group_id is None


def test_the_same_file_again_makes_no_new_people(
    session: Session, admin: Actor, data_dir: settings.Settings, make_session: sessionmaker[Session]
) -> None:
    for name in ("First", "Second"):
        job = upload(session, admin, _rows(12))
        imports.configure(
            session, actor=admin, job_id=job.id, data=ImportConfigure(group_name=name)
        )
        imports.start(session, actor=admin, job_id=job.id)
        session.commit()
        done = run(make_session, job)
    assert _people(session, admin.workspace_id) == 12
    assert done.counts == {"unchanged": 12}
    again = upload(session, admin, _rows(1))
    imports.configure(
        session, actor=admin, job_id=again.id, data=ImportConfigure(group_name="Second")
    )
    with pytest.raises(Conflict):
        imports.start(session, actor=admin, job_id=again.id)


def test_two_workspaces_import_the_same_people_apart(
    session: Session, admin: Actor, data_dir: settings.Settings, make_session: sessionmaker[Session]
) -> None:
    other = workspaces.create(session, slug="other-import-ws", name="Other")
    them = actors.system(other.id)
    for actor in (admin, them):
        job = upload(session, actor, _rows(5))
        imports.start(session, actor=actor, job_id=job.id)
        session.commit()
        assert run(make_session, job).counts == {"created": 5}
    assert _people(session, admin.workspace_id) == 5
    assert _people(session, other.id) == 5


@pytest.mark.parametrize(
    ("policy", "name", "phone", "outcome"),
    [
        ("fill", "Dee Old", "+14155552671", "updated"),
        ("overwrite", "Dee New", "+14155552671", "updated"),
        ("skip", "Dee Old", None, "skipped"),
    ],
)
def test_existing_people_follow_the_merge_policy(
    session: Session,
    admin: Actor,
    data_dir: settings.Settings,
    make_session: sessionmaker[Session],
    policy: str,
    name: str,
    phone: str | None,
    outcome: str,
) -> None:
    dee = make_user(session, admin, full_name="Dee Old", email="dee@example.com")
    job = upload(session, admin, "Name,Email,Phone\nDee New,dee@example.com,+1 415 555 2671\n")
    data = ImportConfigure(merge_policy=policy)  # type: ignore[arg-type]
    imports.configure(session, actor=admin, job_id=job.id, data=data)
    imports.start(session, actor=admin, job_id=job.id)
    session.commit()
    assert run(make_session, job).counts == {outcome: 1}
    session.refresh(dee)
    assert (dee.full_name, dee.phone) == (name, phone)


def test_dynamic_groups_take_in_the_people_the_import_touched(
    session: Session, admin: Actor, data_dir: settings.Settings, make_session: sessionmaker[Session]
) -> None:
    forms.create_field(
        session, actor=admin, data=FieldCreate(key="plan", label="Plan", type="text")
    )
    gold = groups.create(
        session,
        actor=admin,
        data=GroupCreate(name="Gold", selection="rule", include='attributes.plan eq "gold"'),
    )
    dee = make_user(session, admin, full_name="Dee Kay", email="dee@example.com")
    assert gold.member_count == 0
    job = upload(
        session,
        admin,
        "Name,Email,Plan\nAnn Lee,ann@example.com,gold\nDee Kay,dee@example.com,gold\n"
        "Bob Roe,bob@example.com,silver\n",
    )
    data = ImportConfigure(
        mapping={"Name": "full_name", "Email": "email", "Plan": "attributes.plan"}
    )
    imports.configure(session, actor=admin, job_id=job.id, data=data)
    imports.start(session, actor=admin, job_id=job.id)
    session.commit()
    assert run(make_session, job).counts == {"created": 2, "updated": 1}
    session.expire_all()
    members = session.execute(
        select(User.full_name, Membership.source)
        .join(
            Membership,
            (Membership.user_id == User.id) & (Membership.workspace_id == User.workspace_id),
        )
        .where(Membership.workspace_id == admin.workspace_id, Membership.group_id == gold.id)
    ).all()
    assert sorted(members) == [("Ann Lee", "rule"), ("Dee Kay", "rule")]
    assert gold.member_count == 2
    assert dee.attributes == {"plan": "gold"}  # filled: it had none


class _CountingBook:
    """A calamine workbook that counts the sheets parsed (the costly part of reading one)."""

    parsed = 0

    def __init__(self, book: python_calamine.CalamineWorkbook) -> None:
        self._book = book

    @classmethod
    def from_path(cls, path: object) -> _CountingBook:
        return cls(python_calamine.CalamineWorkbook.from_path(path))  # type: ignore[arg-type]

    def __enter__(self) -> _CountingBook:
        return self

    def __exit__(self, *_: object) -> None:
        self._book.close()

    def __getattr__(self, name: str) -> object:
        if name.startswith("get_sheet_by_"):
            type(self).parsed += 1
        return getattr(self._book, name)


def test_a_spreadsheet_is_parsed_once_at_upload_and_once_to_import(
    session: Session,
    admin: Actor,
    data_dir: settings.Settings,
    make_session: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    path = tmp_path / "contacts.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Contacts")
    for number, row in enumerate([("Name", "E-mail"), *_PEOPLE_ROWS]):
        sheet.write_row(number, 0, row)
    book.close()
    calamine = SimpleNamespace(
        CalamineWorkbook=_CountingBook,
        CalamineError=python_calamine.CalamineError,
        SheetVisibleEnum=python_calamine.SheetVisibleEnum,
    )
    monkeypatch.setattr(spreadsheets, "python_calamine", calamine)
    monkeypatch.setattr(_CountingBook, "parsed", 0)
    with path.open("rb") as file:
        job = imports.upload(session, actor=admin, file_name=path.name, stream=file)
    assert (job.headers, _CountingBook.parsed) == (["Name", "E-mail"], 1)
    imports.start(session, actor=admin, job_id=job.id)
    session.commit()
    done = run(make_session, job)
    assert (done.rows_total, done.counts, _CountingBook.parsed) == (3, {"created": 3}, 2)


_PEOPLE_ROWS = [("Ann Lee", "ann@example.com"), ("", ""), ("Bo Li", "bo@x.org"), ("Cy", "c@y.org")]
