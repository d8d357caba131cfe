"""A large import matches each batch while the batch before is still being written (`runner`,
`Matcher.remember`), and on SQLite writes several batches in a transaction. On a real database of
each kind (two connections), the same file must give exactly what the one-connection,
batch-after-batch run gives: outcomes row by row, people, identifiers, and the group."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from coterie import actor as actors
from coterie import db, migrations, settings
from coterie.directory.models import User
from coterie.directory.schemas import UserCreate
from coterie.groups import people
from coterie.groups.models import Membership
from coterie.transfer import runner
from coterie.transfer import service as imports
from coterie.transfer.models import ImportJob, ImportRow
from coterie.transfer.schemas import ImportConfigure
from coterie.workspaces import service as workspaces
from tests.conftest import _empty_database

ROWS = 150


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    for url in _empty_database(request.param, tmp_path_factory):
        migrations.upgrade(url)
        made = db.make_engine(url)
        try:
            yield made
        finally:
            made.dispose()


def contact_list() -> str:
    """New people, people already there (their phone filled), and rows that repeat a row a
    batch or two before, by email in other letters or by the phone an earlier row filled."""
    lines = ["Name,Email,Phone"]
    for i in range(ROWS):
        kind = i % 6
        if kind == 0:
            lines.append(f"New {i},n{i}@example.com,+1 415 555 {i:04d}")
        elif kind == 1:
            lines.append(f"Known {i},e{i % 20}@example.com,+1 415 666 {i:04d}")
        elif kind == 2:
            lines.append(f"Again {i},{lines[max(1, i - 6)].split(',')[1].upper()},")
        elif kind == 3:
            lines.append(f"Phone {i},,{lines[max(1, i - 7)].split(',')[2]}")
        elif kind == 4:
            lines.append(f"Nobody {i},,")
        else:
            lines.append(f"Mail {i},m{i}@example.com,")
    return "\n".join(lines) + "\n"


def queue_import(engine: Engine, workspace_id: int, group: str) -> int:
    """The contact list uploaded and started: the job's id."""
    admin = actors.system(workspace_id)
    with Session(engine) as session:
        job = imports.upload(
            session,
            actor=admin,
            file_name="list.csv",
            stream=io.BytesIO(contact_list().encode()),
        )
        data = ImportConfigure(group_name=group)
        imports.configure(session, actor=admin, job_id=job.id, data=data)
        imports.start(session, actor=admin, job_id=job.id)
        session.commit()
        return job.id


def import_into(engine: Engine, workspace_id: int, pipelined: bool) -> dict[int, tuple[str, str]]:
    """Each row's outcome and its person's email or phone, after an import with or without
    worker processes (and so with or without the pipelined writer)."""
    job_id = queue_import(engine, workspace_id, f"Imported {pipelined}")
    done = runner.run(
        sessionmaker(engine, expire_on_commit=False), workspace_id=workspace_id, job_id=job_id
    )
    assert done is not None
    assert done.status == "done", done.error
    with Session(engine) as session:
        rows = session.execute(
            select(ImportRow.row_number, ImportRow.outcome, User.email, User.phone)
            .outerjoin(
                User,
                (User.workspace_id == ImportRow.workspace_id) & (User.id == ImportRow.user_id),
            )
            .where(ImportRow.workspace_id == workspace_id, ImportRow.job_id == job_id)
        ).all()
        members = session.scalar(
            select(Membership.group_id)
            .where(Membership.workspace_id == workspace_id, Membership.group_id == done.group_id)
            .limit(1)
        )
        assert members is not None
    return {row[0]: (row[1], row[2] or row[3] or "") for row in rows}


def people_of(engine: Engine, workspace_id: int) -> list[tuple[str | None, str | None]]:
    with Session(engine) as session:
        rows = session.execute(
            select(User.email, User.phone).where(User.workspace_id == workspace_id)
        ).all()
    return sorted((row[0], row[1]) for row in rows)


def test_a_pipelined_import_gives_what_a_batch_after_batch_one_gives(
    engine: Engine,
    isolated_settings: settings.Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Batches of 10 then 18: rows repeat across them. On SQLite, 18 is the largest batch, so 4
    # batches a transaction: a person matched again after batches not committed yet.
    monkeypatch.setattr(runner, "BATCH", 10)
    monkeypatch.setattr(runner, "MAX_BATCH", 18)
    results = {}
    for pipelined in (True, False):
        with Session(engine) as session:
            workspace = workspaces.create(
                session, slug=f"p-{pipelined}".lower(), name="P", default_region="US"
            )
            admin = actors.system(workspace.id)
            for n in range(20):
                people.create(
                    session,
                    actor=admin,
                    data=UserCreate(full_name=f"E {n}", email=f"e{n}@example.com"),
                )
            session.commit()
            workspace_id = workspace.id
        monkeypatch.setenv("COTERIE_IMPORT_PARALLEL_FROM", "0" if pipelined else "1000000")
        monkeypatch.setenv("COTERIE_IMPORT_WORKERS", "1")
        settings.get_settings.cache_clear()
        results[pipelined] = (
            import_into(engine, workspace_id, pipelined),
            people_of(engine, workspace_id),
        )
    outcomes, stored = results[True]
    assert outcomes == results[False][0]
    assert stored == results[False][1]
    counted = {outcome for outcome, _ in outcomes.values()}
    assert counted == {"created", "updated", "duplicate", "rejected"}
    assert len(stored) == 20 + sum(1 for i in range(ROWS) if i % 6 in (0, 5))


def test_large_batches_commit_four_at_a_time_on_sqlite(
    engine: Engine,
    isolated_settings: settings.Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runner, "BATCH", 10)
    monkeypatch.setattr(runner, "MAX_BATCH", 18)  # batches of 10 then 18, the largest
    monkeypatch.setenv("COTERIE_IMPORT_PARALLEL_FROM", "1000000")
    settings.get_settings.cache_clear()
    with Session(engine) as session:
        workspace = workspaces.create(session, slug="grouped", name="G", default_region="US")
        session.commit()
        workspace_id = workspace.id
    job_id = queue_import(engine, workspace_id, "Grouped")
    seen: list[tuple[int, int | None]] = []

    def progress(rows_done: int, _total: int | None) -> None:
        with engine.connect() as conn:  # what another connection sees committed
            committed = conn.scalar(
                select(ImportJob.rows_done).where(
                    ImportJob.workspace_id == workspace_id, ImportJob.id == job_id
                )
            )
        seen.append((rows_done, committed))

    done = runner.run(
        sessionmaker(engine, expire_on_commit=False),
        workspace_id=workspace_id,
        job_id=job_id,
        progress=progress,
    )
    assert done is not None
    assert done.status == "done", done.error
    assert done.rows_done == ROWS
    written = [10, 28, 46, 64, 82, 100, 118, 136, 150]
    # On SQLite, 4 batches a transaction, the last ones committed after the last report.
    grouped = [0, 0, 0, 64, 64, 64, 64, 136, 136]
    committed = grouped if engine.dialect.name == "sqlite" else written
    assert seen == list(zip(written, committed, strict=True))
