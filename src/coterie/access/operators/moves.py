"""Moving a person from one group to another, optionally with their records.

The membership change and the transfer of timeline entries (those owned by the old group) happen
in one savepoint: either all of it is done or none of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from coterie import ids
from coterie.actor import Actor
from coterie.directory import service as users
from coterie.directory.models import TimelineEntry
from coterie.errors import Invalid
from coterie.events import service as audit
from coterie.groups import service as groups
from coterie.groups.models import Membership

WARNING = (
    "Permissions may need updating: the person's access and any operator scope that named "
    "the old group do not follow them to the new group."
)


@dataclass(frozen=True)
class Move:
    user_id: int
    from_group_id: int
    to_group_id: int
    moved_records: int
    warning: str = WARNING


def transfer_records(session: Session, *, actor: Actor, user_id: int, old: int, new: int) -> int:
    """Re-own the person's timeline entries of the old group to the new one; how many moved."""
    result = session.execute(
        update(TimelineEntry)
        .where(
            TimelineEntry.workspace_id == actor.workspace_id,
            TimelineEntry.user_id == user_id,
            TimelineEntry.group_id == old,
        )
        .values(group_id=new)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def move(
    session: Session,
    *,
    actor: Actor,
    user_id: int,
    from_group_id: int,
    to_group_id: int,
    transfer: bool = False,
) -> Move:
    users.require_write(actor)
    user = users.get(session, actor=actor, user_id=user_id)
    source = groups.get(session, actor=actor, group_id=from_group_id)
    target = groups.get(session, actor=actor, group_id=to_group_id)
    if source.id == target.id:
        raise Invalid("Choose a group other than the one they are in", field="to_group_id")
    if session.get(Membership, (actor.workspace_id, source.id, user.id)) is None:
        raise Invalid(f"{user.full_name} is not a member of {source.name}", field="from_group_id")
    for group, field in ((source, "from_group_id"), (target, "to_group_id")):
        if group.selection != "manual":
            raise Invalid(
                f"{group.name} is a rule group: its rule decides who is in it", field=field
            )
    with session.begin_nested():
        groups.remove_members(session, actor=actor, group_id=source.id, user_ids=[user.id])
        groups.add_members(session, actor=actor, group_id=target.id, user_ids=[user.id])
        moved = 0
        if transfer:
            moved = transfer_records(
                session, actor=actor, user_id=user.id, old=source.id, new=target.id
            )
        audit.record(
            session,
            actor=actor,
            action="user.moved",
            target_type="user",
            target_id=user.id,
            target_label=user.full_name,
            before={"group": f"{source.name} ({ids.encode(source.id)})"},
            after={
                "group": f"{target.name} ({ids.encode(target.id)})",
                "records_transferred": moved,
            },
        )
    return Move(
        user_id=user.id, from_group_id=source.id, to_group_id=target.id, moved_records=moved
    )
