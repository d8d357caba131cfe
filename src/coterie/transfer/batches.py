"""One batch of an import: placed row by row in Python, then written in one transaction.

The two halves are apart so that the runner can place a batch (match its rows, give the new
people their ids) while the batch before is being written on another connection: the importing
process and the database then work at the same time. `Matcher.remember` covers the batches not
committed yet, whose rows the next batch cannot find in the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from coterie import actor as actors
from coterie import ids
from coterie.actor import Actor, Origin
from coterie.db import utcnow
from coterie.events import service as audit
from coterie.transfer import readers, staging, upserts
from coterie.transfer.matching import Matcher
from coterie.transfer.models import ImportJob
from coterie.transfer.normalize import Normalized


@dataclass
class Placed:
    """A batch ready to write: its stage rows, its new people, and its counts so far."""

    first: int  # row numbers
    last: int
    staged: list[tuple[Any, ...]] = field(default_factory=list)  # `staging.stored` rows
    created: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # `matched` split when written
    matched: int = 0


def actor_of(job: ImportJob) -> Actor:
    label = job.created_by_label or "import"
    return Actor(
        job.workspace_id, actors.Role.ADMIN, label, Origin.SYSTEM, user_id=job.created_by_id
    )


def place(
    policy: str,
    batch: Sequence[readers.Row],
    normalized: Sequence[Normalized],
    matcher: Matcher,
    *,
    dialect: Dialect,
) -> Placed:
    """Every row's outcome and person, its stage row ready to load into `dialect`'s database;
    the batch is remembered for the next one's match."""
    matches = matcher.match(normalized)
    placed = Placed(batch[0].number, batch[-1].number)
    row_user: list[int | None] = []
    fresh = iter(ids.new_ids(len(batch)))
    counts = placed.counts
    for row, result, match in zip(batch, normalized, matches, strict=True):
        outcome, user_id, reason = upserts.place(policy, row, match, row_user, fresh)
        row_user.append(user_id)
        if outcome == "created":
            placed.created.append(user_id or 0)
        if outcome == "matched":
            placed.matched += 1
        else:
            counts[outcome] = counts.get(outcome, 0) + 1
        placed.staged.append(upserts.staged(row, result, outcome, user_id, reason))
    matcher.remember(normalized, row_user)
    placed.staged = staging.stored(dialect, placed.staged)
    return placed


def write(
    session: Session,
    job: ImportJob,
    placed: Placed,
    *,
    columns: Sequence[str],
    attributes: bool,
    now: datetime | None = None,
    commit: bool = True,
) -> None:
    """The batch's people, row outcomes, audit entry (and so its webhook events) and the job's
    progress, in the session's transaction: committed together, now or (not `commit`) with
    the batches that follow."""
    now = now or utcnow()
    with staging.roomy_cache(session):
        staging.prepare(session)
        staging.load(session, placed.staged)
        upserts.insert_created(session, job, now=now)
        updated: list[int] = []
        if placed.matched:
            updated = upserts.merge_matched(
                session, job, columns=columns, attributes=attributes, now=now
            )
        upserts.record_outcomes(session, job)
        staging.clear(session)
    counts = dict(job.counts)
    written = dict(placed.counts)
    written["updated"] = len(updated)
    written["unchanged"] = placed.matched - len(updated)
    for outcome, number in written.items():
        if number:
            counts[outcome] = counts.get(outcome, 0) + number
    audit.record(
        session,
        actor=actor_of(job),
        action="users.imported",
        target_type="import",
        target_id=job.id,
        target_label=job.file_name,
        after={
            "rows": [placed.first, placed.last],
            "created": [ids.encode(i) for i in placed.created],
            "updated": [ids.encode(i) for i in updated],
        },
    )
    job.rows_done = placed.last
    job.counts = counts
    job.heartbeat_at = now
    if commit:
        session.commit()
    else:
        session.flush()
