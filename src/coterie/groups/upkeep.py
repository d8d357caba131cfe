"""What time alone changes, applied by the scheduled job: expired memberships leave, and dynamic
rules that read the clock (`within_last`) are evaluated again.

Everything else is kept right at write time; this is the only place where "now" moves memberships.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from coterie import actor as actors
from coterie.errors import CoterieError
from coterie.groups.catalog import people_catalog
from coterie.groups.evaluation import count_changes, evaluate, propagate, record_changes
from coterie.groups.models import Group, Membership
from coterie.workspaces.models import Workspace


@dataclass
class SweepReport:
    expired: int = 0
    evaluated: int = 0
    added: int = 0
    removed: int = 0
    errors: list[str] = field(default_factory=list)


def sweep(session: Session, *, now: datetime) -> SweepReport:
    """Sweep every workspace; each workspace in its own savepoint, so one bad rule stops nothing."""
    report = SweepReport()
    for workspace_id in session.scalars(select(Workspace.id)).all():
        try:
            with session.begin_nested():
                sweep_workspace(session, workspace_id=workspace_id, now=now, report=report)
        except (CoterieError, SQLAlchemyError) as exc:  # reported; other workspaces go on
            report.errors.append(f"workspace {workspace_id}: {exc}")
    return report


def sweep_workspace(
    session: Session, *, workspace_id: int, now: datetime, report: SweepReport
) -> None:
    actor = actors.system(workspace_id, label="scheduled job")
    expired = session.execute(
        delete(Membership)
        .where(
            Membership.workspace_id == workspace_id,
            Membership.expires_at.is_not(None),
            Membership.expires_at <= now,
        )
        .returning(Membership.group_id, Membership.user_id)
    ).all()
    left: dict[int, list[int]] = defaultdict(list)
    for group_id, user_id in expired:
        left[group_id].append(user_id)
    for group_id, people in left.items():
        group = session.get(Group, (workspace_id, group_id))
        if group is None:
            continue
        count_changes(session, group=group, delta=-len(people))
        record_changes(
            session, actor=actor, group=group, added=[], removed=people, reason="expired"
        )
        propagate(
            session, actor=actor, workspace_id=workspace_id, changed=[group_id], people=people
        )
    report.expired += len(expired)

    clocked = session.scalars(
        select(Group).where(
            Group.workspace_id == workspace_id,
            Group.selection == "rule",
            Group.behaviour == "dynamic",
            Group.time_relative.is_(True),
        )
    ).all()
    if not clocked:
        return
    catalog = people_catalog(session, workspace_id=workspace_id)
    for group in clocked:
        result = evaluate(session, actor=actor, group=group, catalog=catalog, now=now)
        report.evaluated += 1
        report.added += result.added
        report.removed += result.removed
        if result.added or result.removed:
            propagate(session, actor=actor, workspace_id=workspace_id, changed=[group.id])
