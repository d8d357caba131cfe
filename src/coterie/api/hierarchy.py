"""The group hierarchy over HTTP: the whole tree with counts, a subtree, moving a group."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from coterie import ids
from coterie.access import roles
from coterie.actor import Role
from coterie.api.deps import ActorDep, SessionDep, decode_id
from coterie.api.groups import group_read
from coterie.groups import hierarchy
from coterie.groups import service as groups
from coterie.groups.schemas import GroupRead
from coterie.inputs import Input
from coterie.workspaces import service as workspaces

router = APIRouter(tags=["groups"])
READER = roles.needs(Role.READ_ONLY)


class TreeNode(BaseModel):
    id: str
    name: str
    parent_id: str | None
    level: int = Field(description="1 for a billing-level group, 2 for its subgroups...")
    member_count: int = Field(description="people in the group itself")
    subtree_member_count: int = Field(description="distinct people in it and all its subgroups")
    subgroups: int = Field(description="direct subgroups")


class TreeRead(BaseModel):
    depth_limit: int
    items: list[TreeNode] = Field(description="depth-first, subgroups by name under their parent")


class GroupMove(Input):
    parent_id: str | None = Field(
        max_length=40, description="the new parent; null makes it a level-1 group"
    )


def _tree(nodes: list[hierarchy.Node], limit: int) -> TreeRead:
    return TreeRead(
        depth_limit=limit,
        items=[
            TreeNode(
                id=ids.encode(n.id),
                name=n.name,
                parent_id=ids.encode(n.parent_id) if n.parent_id is not None else None,
                level=n.level,
                member_count=n.member_count,
                subtree_member_count=n.subtree_member_count,
                subgroups=n.subgroups,
            )
            for n in nodes
        ],
    )


def _limit(session: SessionDep, workspace_id: int) -> int:
    return workspaces.get(session, workspace_id=workspace_id).hierarchy_depth


@router.get("/hierarchy", response_model=TreeRead, openapi_extra=READER)
def whole_tree(session: SessionDep, actor: ActorDep) -> TreeRead:
    """Every group as a tree, with direct and subtree member counts, in one read."""
    groups.require_read(actor)
    return _tree(hierarchy.tree(session, actor=actor), _limit(session, actor.workspace_id))


@router.get("/groups/{group_id}/subtree", response_model=TreeRead, openapi_extra=READER)
def subtree(session: SessionDep, actor: ActorDep, group_id: str) -> TreeRead:
    group = groups.get(session, actor=actor, group_id=decode_id(group_id, "group"))
    nodes = hierarchy.tree(session, actor=actor, root_id=group.id)
    return _tree(nodes, _limit(session, actor.workspace_id))


@router.post("/groups/{group_id}/move", response_model=GroupRead)
def move_group(session: SessionDep, actor: ActorDep, group_id: str, data: GroupMove) -> GroupRead:
    """Put the group, with its subgroups, under another group (or at level 1)."""
    group = groups.get(session, actor=actor, group_id=decode_id(group_id, "group"))
    parent = None if data.parent_id is None else hierarchy.decode_parent(data.parent_id)
    hierarchy.move(session, actor=actor, group=group, parent_id=parent)
    session.commit()
    return group_read(session, group)
