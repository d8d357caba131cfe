"""Carrying out an import job: people upserted batch by batch, then the group in one step.

Each batch is one transaction that upserts its people, records every row's outcome in
`import_rows` and moves `rows_done` forward, so a job killed mid-way resumes after its last
committed batch and never makes a person twice. The group, its memberships and the re-evaluation
of dynamic groups happen in one final transaction: until it commits no group is visible.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import String, Table, func, literal, select, true
from sqlalchemy.orm import Session, sessionmaker

from coterie import actor as actors
from coterie import ids
from coterie.actor import Actor, Origin
from coterie.db import Id, UTCDateTime, utcnow
from coterie.directory.models import User
from coterie.directory.service import workspace_fields
from coterie.events import service as audit
from coterie.groups import graph, storage
from coterie.groups import service as groups
from coterie.groups.catalog import people_catalog
from coterie.groups.evaluation import count_changes, evaluate, record_changes
from coterie.groups.models import Group, Membership
from coterie.groups.schemas import GroupCreate
from coterie.settings import get_settings
from coterie.transfer import analyzer, readers, upserts, workers
from coterie.transfer.matching import Matcher
from coterie.transfer.models import ImportJob, ImportRow
from coterie.transfer.normalize import Normalized
from coterie.transfer.service import BATCH, file_path, source_of
from coterie.workspaces import service as workspaces

Progress = Callable[[int, int | None], None]
_USERS = cast(Table, User.__table__)
_IMPORT_ROWS = cast(Table, ImportRow.__table__)


def _actor(job: ImportJob) -> Actor:
    label = job.created_by_label or "import"
    return Actor(
        job.workspace_id, actors.Role.ADMIN, label, Origin.SYSTEM, user_id=job.created_by_id
    )


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
        if job.rows_total is None:
            job.rows_total = readers.count_rows(file_path(job), source_of(job))
        session.commit()
    try:
        _upsert_all(make_session, workspace_id=workspace_id, job_id=job_id, progress=progress)
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


def _upsert_all(
    make_session: sessionmaker[Session],
    *,
    workspace_id: int,
    job_id: int,
    progress: Progress | None,
) -> None:
    with make_session() as session:
        job = session.get(ImportJob, (workspace_id, job_id))
        assert job is not None
        fields = workspace_fields(session, workspace_id=workspace_id)
        region = workspaces.get(session, workspace_id=workspace_id).default_region
        # `start` made the job's new fields: they are among the workspace's fields now.
        plan = workers.Plan.of(job.mapping, job.headers, fields, (), region=region)
        rows = readers.rows(file_path(job), source_of(job), start=job.rows_done)
        left = None if job.rows_total is None else job.rows_total - job.rows_done
        batches = workers.normalized_batches(
            rows, plan, size=BATCH, workers=workers.worker_count(left)
        )

        def touched(user_ids: Iterable[int]) -> set[int]:
            wanted = list(user_ids)
            if not wanted:
                return set()
            stmt = select(ImportRow.user_id).where(
                ImportRow.workspace_id == workspace_id,
                ImportRow.job_id == job_id,
                ImportRow.user_id.in_(wanted),
            )
            return {i for i in session.scalars(stmt) if i is not None}

        matcher = Matcher(session, workspace_id=workspace_id, touched=touched)
        statistics = analyzer.Analyzer(
            session, rows_done=job.rows_done, created=job.counts.get("created", 0), batch=BATCH
        )
        for batch, normalized in batches:
            _batch(session, job, batch, normalized, matcher)
            statistics.after_batch(rows_done=job.rows_done, created=job.counts.get("created", 0))
            if progress is not None:
                progress(job.rows_done, job.rows_total)


def _batch(
    session: Session,
    job: ImportJob,
    batch: Sequence[readers.Row],
    normalized: Sequence[Normalized],
    matcher: Matcher,
) -> None:
    """One transaction: upsert the batch's people and record each row's outcome."""
    matches = matcher.match(normalized)
    now = utcnow()
    created: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    outcomes: list[dict[str, Any]] = []
    row_user: list[int | None] = []
    counts = dict(job.counts)
    for row, result, match in zip(batch, normalized, matches, strict=True):
        outcome, user_id, reason = upserts.place(
            job, row, result, match, row_user, now, created, updates
        )
        row_user.append(user_id)
        counts[outcome] = counts.get(outcome, 0) + 1
        outcomes.append(
            {
                "workspace_id": job.workspace_id,
                "job_id": job.id,
                "row_number": row.number,
                "outcome": outcome,
                "user_id": user_id,
                "reason": reason,
                "values": None if outcome != "rejected" else [_text(c) for c in row.cells],
            }
        )
    # Core statements or COPY: the ORM's bulk insert spent more time than the database.
    upserts.insert_rows(session, _USERS, created)
    if updates:
        upserts.update_people(session, updates)
    upserts.insert_rows(session, _IMPORT_ROWS, outcomes)
    actor = _actor(job)
    audit.record(
        session,
        actor=actor,
        action="users.imported",
        target_type="import",
        target_id=job.id,
        target_label=job.file_name,
        after={
            "rows": [batch[0].number, batch[-1].number],
            "created": [ids.encode(p["id"]) for p in created],
            "updated": [ids.encode(p["_id"]) for p in updates],
        },
    )
    job.rows_done = batch[-1].number
    job.counts = counts
    job.heartbeat_at = now
    session.commit()


def _text(cell: readers.Cell) -> str | None:
    if cell is None:
        return None
    if hasattr(cell, "isoformat"):
        return str(cell.isoformat())
    return str(cell)


def _finish(session: Session, job: ImportJob) -> None:
    """Make the group from the imported rows and bring dynamic groups up to date, at once."""
    actor = _actor(job)
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
    )
    now = utcnow()
    members = select(
        literal(job.workspace_id, Id),
        literal(group.id, Id),
        imported.subquery().c.user_id,
        literal("import", String),
        literal(actor.user_id, Id),
        literal(actor.label[:200], String),
        literal(now, UTCDateTime),
    ).where(true())  # SQLite needs a WHERE before ON CONFLICT in INSERT ... SELECT
    columns = ["workspace_id", "group_id", "user_id", "source", "added_by_id"]
    columns += ["added_by_label", "added_at"]
    stmt = storage.insert_new(session).from_select(columns, members).returning(Membership.user_id)
    added = list(session.scalars(stmt))
    count_changes(session, group=group, delta=len(added))
    record_changes(session, actor=actor, group=group, added=added, removed=[], reason="import")
    analyzer.before_refresh(session, people=len(added))
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
