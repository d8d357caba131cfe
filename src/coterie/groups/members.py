"""Listing a group's members with the All Users table's filters, sorting, paging and export."""

from __future__ import annotations

from sqlalchemy import literal, select
from sqlalchemy.orm import Session

from coterie.directory.listing import Scope
from coterie.directory.models import User
from coterie.groups.catalog import GroupMembership
from coterie.groups.models import Group, Membership


def in_group(session: Session, *, group: Group) -> Scope:
    """The people of `group`; their filter may use `member_of` too."""
    users = User.__table__
    member = Membership.__table__
    within = (
        select(literal(1))
        .where(
            member.c.workspace_id == group.workspace_id,
            member.c.group_id == group.id,
            member.c.user_id == users.c.id,
        )
        .correlate(users)
        .exists()
    )
    return Scope(within=within, membership=GroupMembership(session, group.workspace_id))


def everyone(session: Session, *, workspace_id: int) -> Scope:
    """All people of the workspace; their filter may use `member_of`."""
    return Scope(membership=GroupMembership(session, workspace_id))
