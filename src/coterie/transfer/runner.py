"""Carrying out an import job: people upserted batch by batch, then the group in one step.

Each batch upserts its people, records every row's outcome in `import_rows` and moves
`rows_done` forward in the same transaction (one a batch, or every few large batches on SQLite), so
a job killed mid-way resumes after its last committed batch and never makes a person twice. The
group, its memberships and the re-evaluation of dynamic groups happen in one final transaction:
until it commits no group is visible.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import String, Table, func, insert, literal, select
from sqlalchemy.orm import Session, sessionmaker

from coterie import ids
from coterie.actor import Actor
from coterie.db import Id, UTCDateTime, utcnow
from coterie.directory.models import User
from coterie.directory.service import workspace_fields
from coterie.events import service as audit
from coterie.groups import graph
from coterie.groups import service as groups
from coterie.groups.catalog import people_catalog
from coterie.groups.evaluation import AUDIT_CHUNK, audit_members, count_changes, evaluate
from coterie.groups.models import Group, Membership
from coterie.groups.schemas import GroupCreate
from coterie.settings import get_settings
from coterie.transfer import analyzer, batches, readers, upserts, workers
from coterie.transfer.matching import Matcher, Touched, among
from coterie.transfer.models import ImportJob, ImportRow
from coterie.transfer.service import file_path, source_of
from coterie.workspaces import service as workspaces

Progress = Callable[[int, int | None], None]
BATCH = 2_000  # the fewest rows a batch takes (the last one excepted)
MAX_BATCH = 8_000  # rows: larger batches saved little and cost memory (bench/imports.py)
# SQLite, batches of `MAX_BATCH` rows: batches a transaction takes (a smaller job commits after
# each). A commit writes every page its batches changed to the WAL and checkpoints them into the
# database, and consecutive batches change mostly the same pages of the users' indexes. Measured
# (bench/imports.py, 1,000,000 rows into 1,000,000 people): the commits took 59 s, 24 s with 4
# batches each; the import 171 s, 143 s (0.204x -> 0.238x of the raw executemany).
SQLITE_BATCHES_PER_COMMIT = 4
AUDIT_PAGE = 50 * AUDIT_CHUNK  # member ids read back at a time to audit them
_IMPORT_ROWS = cast(Table, ImportRow.__table__)


def run(
    make_session: sessionmaker[Session],
    *,
    workspace_id: int,
    job_id: int,
    progress: Progress | None = None,
) -> ImportJob | None:
    """Run (or resume) a queued job to the end; a failure marks it failed with the reason."""
    with make_session() as session:
        job = session.get(ImportJob, (workspace_id, job_id))
        if job is None or job.status not in ("queued", "running"):
            return job
        job.status = "running"
        job.started_at = job.started_at or utcnow()
        job.heartbeat_at = utcnow()
        # One opening of the file for the count and the rows: a spreadsheet is parsed once.
        table = readers.Table(file_path(job), source_of(job))
        if job.rows_total is None:
            job.rows_total = table.count()
        session.commit()
    try:
        _upsert_all(
            make_session, table, workspace_id=workspace_id, job_id=job_id, progress=progress
        )
        del table  # a spreadsheet's parsed sheet is not kept through the final transaction
        with make_session() as session:
            job = session.get(ImportJob, (workspace_id, job_id))
            assert job is not None
            _finish(session, job)
            session.commit()
            return job
    except Exception as exc:
        with make_session() as session:
            job = session.get(ImportJob, (workspace_id, job_id))
            if job is not None:
                job.status = "failed"
                job.error = f"{type(exc).__name__}: {exc}"[:2000]
                job.finished_at = utcnow()
                session.commit()
        raise


def chunk_size(rows_left: int | None) -> int:
    """Rows a batch takes: an eighth of the job, between `BATCH` and `MAX_BATCH`. Large
    batches spread each statement's fixed cost; a small job still commits several times."""
    if rows_left is None:
        return BATCH
    return max(BATCH, min(MAX_BATCH, rows_left // 8))


def _upsert_all(
    make_session: sessionmaker[Session],
    table: readers.Table,
    *,
    workspace_id: int,
    job_id: int,
    progress: Progress | None,
) -> None:
    with make_session() as session, make_session() as reader:
        job = session.get(ImportJob, (workspace_id, job_id))
        assert job is not None
        fields = workspace_fields(session, workspace_id=workspace_id)
        region = workspaces.get(session, workspace_id=workspace_id).default_region
        # `start` made the job's new fields: they are among the workspace's fields now.
        plan = workers.Plan.of(job.mapping, job.headers, fields, (), region=region)
        rows = table.rows(start=job.rows_done)
        left = None if job.rows_total is None else job.rows_total - job.rows_done
        size = chunk_size(left)
        processes = workers.worker_count(left)
        normalized_batches = workers.normalized_batches(
            rows, plan, size=size, workers=processes, first=BATCH
        )
        # A large import matches each batch on a second connection while the batch before is
        # written: the importing process and the database work at the same time.
        pipelined = processes > 0
        matcher = Matcher(
            reader if pipelined else session,
            workspace_id=workspace_id,
            touched=_touched(reader if pipelined else session, workspace_id, job_id),
        )
        statistics = analyzer.Analyzer(
            session, rows_done=job.rows_done, created=job.counts.get("created", 0), batch=size
        )
        columns, attributes = upserts.written_columns(job.mapping)
        policy = job.merge_policy
        dialect = session.get_bind().dialect
        grouped = dialect.name == "sqlite" and size == MAX_BATCH
        per_commit = SQLITE_BATCHES_PER_COMMIT if grouped else 1
        written = 0

        def write(placed: batches.Placed) -> bool:
            """Write the batch; whether its transaction committed."""
            nonlocal written
            written += 1
            commit = written % per_commit == 0
            batches.write(
                session, job, placed, columns=columns, attributes=attributes, commit=commit
            )
            statistics.after_batch(rows_done=job.rows_done, created=job.counts.get("created", 0))
            return commit

        def report() -> None:
            if progress is not None:
                progress(job.rows_done, job.rows_total)

        if not pipelined:
            # The matcher reads the writer's own transaction, yet remembers the batches a
            # pipelined import would: the same file gives the same outcomes either way.
            committed = False
            for batch, normalized in normalized_batches:
                placed = batches.place(policy, batch, normalized, matcher, dialect=dialect)
                if committed:
                    matcher.settle()
                committed = write(placed)
                report()
            session.commit()
            return
        with ThreadPoolExecutor(1, thread_name_prefix="import-writer") as writer:
            pending: Future[bool] | None = None
            for batch, normalized in normalized_batches:
                placed = batches.place(policy, batch, normalized, matcher, dialect=dialect)
                reader.rollback()  # the next match reads what the writer committed since
                if pending is not None:
                    if pending.result():
                        matcher.settle()
                    report()
                pending = writer.submit(write, placed)
            if pending is not None:
                pending.result()
                session.commit()
                report()


def _touched(session: Session, workspace_id: int, job_id: int) -> Touched:
    """Which of some people earlier batches of the job imported (a row that repeats one)."""

    def touched(user_ids: Iterable[int]) -> set[int]:
        wanted = sorted(user_ids)
        if not wanted:
            return set()
        clause, values = among(session, _IMPORT_ROWS.c.user_id, wanted)
        stmt = select(_IMPORT_ROWS.c.user_id).where(
            _IMPORT_ROWS.c.workspace_id == workspace_id, _IMPORT_ROWS.c.job_id == job_id, clause
        )
        return {i for i in session.scalars(stmt, values) if i is not None}

    return touched


def _finish(session: Session, job: ImportJob) -> None:
    """Make the group from the imported rows and bring dynamic groups up to date, at once."""
    actor = batches.actor_of(job)
    group = groups.create(
        session,
        actor=actor,
        data=GroupCreate(
            name=job.group_name or job.file_name,
            description=job.group_description,
            tags=job.group_tags,
            source="import",
            source_ref=job.file_name,
            form_ids=[ids.encode(job.form_id)] if job.form_id else None,
        ),
    )
    imported = (
        select(ImportRow.user_id)
        .where(
            ImportRow.workspace_id == job.workspace_id,
            ImportRow.job_id == job.id,
            ImportRow.user_id.is_not(None),
        )
        .distinct()
        .subquery()
    )
    now = utcnow()
    # The group is new, so a plain INSERT (no ON CONFLICT); in id order, the memberships' primary
    # key grows at its end and the foreign-key checks walk the users' primary key in order.
    members = select(
        literal(job.workspace_id, Id),
        literal(group.id, Id),
        imported.c.user_id,
        literal("import", String),
        literal(actor.user_id, Id),
        literal(actor.label[:200], String),
        literal(now, UTCDateTime),
    ).order_by(imported.c.user_id)
    columns = ["workspace_id", "group_id", "user_id", "source", "added_by_id"]
    columns += ["added_by_label", "added_at"]
    session.execute(insert(Membership).from_select(columns, members))
    added = session.scalar(  # the group is new: all its members were just added
        select(func.count()).where(
            Membership.workspace_id == job.workspace_id, Membership.group_id == group.id
        )
    )
    added = int(added or 0)
    count_changes(session, group=group, delta=added)
    _audit_members(session, actor=actor, group=group)
    analyzer.before_refresh(session, people=added)
    _refresh_dynamic(session, job=job, actor=actor)
    job.group_id = group.id
    job.status = "done"
    job.finished_at = utcnow()
    audit.record(
        session,
        actor=actor,
        action="import.completed",
        target_type="import",
        target_id=job.id,
        target_label=job.file_name,
        after={"group": group.name, "counts": job.counts},
    )


def _audit_members(session: Session, *, actor: Actor, group: Group) -> None:
    """The new group's members audited (and their `membership.added` events written) a page
    of ids at a time, read back from the group: never the million ids in memory at once."""
    stmt = (
        select(Membership.user_id)
        .where(Membership.workspace_id == group.workspace_id, Membership.group_id == group.id)
        .order_by(Membership.user_id)
        .execution_options(yield_per=AUDIT_PAGE)
    )
    for page in session.scalars(stmt).partitions():
        audit_members(
            session,
            actor=actor,
            group_id=group.id,
            name=group.name,
            added=list(page),
            removed=[],
            reason="import",
        )


def _refresh_dynamic(session: Session, *, job: ImportJob, actor: Actor) -> None:
    """Re-evaluate every dynamic group for the people the import touched, in dependency order."""
    nodes = graph.load(session, workspace_id=job.workspace_id)
    dynamic = [i for i in graph.order(nodes) if nodes[i].dynamic]
    if not dynamic:
        return
    touched = select(ImportRow.user_id).where(
        ImportRow.workspace_id == job.workspace_id,
        ImportRow.job_id == job.id,
        ImportRow.user_id.is_not(None),
    )
    only = User.__table__.c.id.in_(touched)
    catalog = people_catalog(session, workspace_id=job.workspace_id)
    for group_id in dynamic:
        group = session.get(Group, (job.workspace_id, group_id))
        if group is not None:
            evaluate(session, actor=actor, group=group, catalog=catalog, only=only)


def stale_after() -> timedelta:
    """How long a running job may stay silent (no batch committed) before it counts as
    interrupted: `COTERIE_IMPORT_STALE_SECONDS`, two minutes by default."""
    return timedelta(seconds=get_settings().import_stale_seconds)


def recover(session: Session, *, now: datetime) -> list[tuple[int, int]]:
    """Jobs left running by a process that died: queued again, to resume after their last batch."""
    stale = session.scalars(
        select(ImportJob).where(
            ImportJob.status == "running",
            func.coalesce(ImportJob.heartbeat_at, ImportJob.created_at) < now - stale_after(),
        )
    ).all()
    for job in stale:
        job.status = "queued"
    queued = session.execute(
        select(ImportJob.workspace_id, ImportJob.id).where(ImportJob.status == "queued")
    ).all()
    return [(row[0], row[1]) for row in queued]
