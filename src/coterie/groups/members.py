"""Listing a group's members with the All Users table's filters, sorting, paging and export."""

from __future__ import annotations

from sqlalchemy import func, literal, select
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


def sample(session: Session, *, group: Group, limit: int = 60) -> tuple[list[User], int]:
    """The first members of a group by name, and how many it has (the kept count)."""
    stmt = (
        select(User)
        .join(
            Membership,
            (Membership.workspace_id == User.workspace_id) & (Membership.user_id == User.id),
        )
        .where(Membership.workspace_id == group.workspace_id, Membership.group_id == group.id)
        .order_by(User.full_name, User.id)
        .limit(limit)
    )
    return list(session.scalars(stmt)), group.member_count


def not_in_group(
    session: Session, *, group: Group, search: str | None = None, limit: int = 20
) -> list[User]:
    """People who could join a group by hand: not in it yet, by name, optionally matching text."""
    users = User.__table__
    member = Membership.__table__
    inside = (
        select(literal(1))
        .where(
            member.c.workspace_id == group.workspace_id,
            member.c.group_id == group.id,
            member.c.user_id == users.c.id,
        )
        .correlate(users)
        .exists()
    )
    stmt = select(User).where(User.workspace_id == group.workspace_id, ~inside)
    if search:
        text = search.lower()
        stmt = stmt.where(
            func.lower(User.full_name).contains(text, autoescape=True)
            | func.lower(User.email).contains(text, autoescape=True)
        )
    return list(session.scalars(stmt.order_by(User.full_name, User.id).limit(limit)))
