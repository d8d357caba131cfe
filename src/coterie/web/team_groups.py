"""Team Management → Groups: the team's groups with their people, bots and personas.

The table lists every group in tree order with its counts; a row opens a panel (htmx) where
people, bots and personas are added from a popover and removed from their cards. Each change
commits at once and swaps the panel and the row's counts.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from coterie import ids
from coterie.access import resources, roles
from coterie.actor import Role
from coterie.errors import Invalid
from coterie.groups import hierarchy, members
from coterie.groups import service as groups
from coterie.groups.models import Group
from coterie.groups.schemas import GroupCreate, GroupUpdate
from coterie.web.deps import (
    FormDep,
    Operator,
    OperatorDep,
    SessionDep,
    WebRoute,
    check_csrf,
    flash,
    redirect,
    render,
)

router = APIRouter(prefix="/team/groups", route_class=WebRoute, dependencies=[Depends(check_csrf)])

SECTIONS = {"users": "Users", "bot": "Bots", "persona": "Personas"}
PAGE = "/team/groups"


def _group(session: Session, op: Operator, group_id: str) -> Group:
    return groups.get(session, actor=op.actor, group_id=ids.decode(group_id, what="group"))


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


@router.get("", openapi_extra=roles.needs(Role.READ_ONLY))  # groups are whole sets of people
def page(request: Request, session: SessionDep, op: OperatorDep) -> Response:
    nodes = hierarchy.tree(session, actor=op.actor)
    kinds = resources.counts_by_kind(session, workspace_id=op.actor.workspace_id)
    limit = op.workspace.hierarchy_depth
    return render(
        request,
        "team/groups.html",
        {
            "nodes": nodes,
            "kinds": kinds,
            "parents": [n for n in nodes if n.level < limit],
            "scoped": op.actor.scope is not None,
            "can_write": op.actor.can_write,
            "section": "team",
        },
    )


@router.post("")
def create(request: Request, session: SessionDep, op: OperatorDep, form: FormDep) -> Response:
    name, parent = _text(form, "name"), _text(form, "parent_id")
    if not name:
        raise Invalid("A group needs a name", field="name")
    data = GroupCreate(name=name[:200], parent_id=parent[:40] or None)
    group = groups.create(session, actor=op.actor, data=data)
    session.commit()
    flash(request, f"Created the group {group.name}.")
    return redirect(f"{PAGE}#group-{ids.encode(group.id)}", request)


@router.post("/{group_id}/rename")
def rename(
    request: Request, session: SessionDep, op: OperatorDep, group_id: str, form: FormDep
) -> Response:
    group = _group(session, op, group_id)
    name = _text(form, "name")
    if not name:
        raise Invalid("A group needs a name", field="name")
    old = group.name
    groups.update(session, actor=op.actor, group_id=group.id, data=GroupUpdate(name=name))
    session.commit()
    flash(request, f"Renamed {old} to {name}.")
    return redirect(PAGE, request)


@router.post("/{group_id}/delete")
def delete(request: Request, session: SessionDep, op: OperatorDep, group_id: str) -> Response:
    group = _group(session, op, group_id)
    name = group.name
    groups.delete_group(session, actor=op.actor, group_id=group.id)
    session.commit()
    flash(request, f"Deleted the group {name}. Its people are still in the directory.")
    return redirect(PAGE, request)


def _panel(request: Request, session: Session, op: Operator, group: Group) -> Response:
    found = resources.of_groups(session, workspace_id=group.workspace_id, group_ids=[group.id])
    held = found[group.id]
    people, total = members.sample(session, group=group)
    return render(
        request,
        "team/_panel.html",
        {
            "group": group,
            "gid": ids.encode(group.id),
            "people": people,
            "people_total": total,
            "chain": hierarchy.chain(session, workspace_id=group.workspace_id, group_id=group.id),
            "bots": [r for r in held if r.kind == "bot"],
            "personas": [r for r in held if r.kind == "persona"],
            "others": [r for r in held if r.kind not in ("bot", "persona")],
            "can_write": op.actor.can_write,
            "can_assign": op.actor.can_write and op.actor.can(resources.GROUP_ACCESS),
        },
    )


@router.get("/{group_id}/panel")
def panel(request: Request, session: SessionDep, op: OperatorDep, group_id: str) -> Response:
    return _panel(request, session, op, _group(session, op, group_id))


@router.get("/{group_id}/choices/{section}")
def choices(
    request: Request,
    session: SessionDep,
    op: OperatorDep,
    group_id: str,
    section: str,
    q: str = "",
) -> Response:
    """What the + popover offers: only what the group does not have yet."""
    group = _group(session, op, group_id)
    if section not in SECTIONS:
        raise Invalid(f"No section {section!r}", field="section")
    if section == "users":
        people = members.not_in_group(session, group=group, search=q.strip()[:200] or None)
        items: list[Any] = people
    else:
        held = resources.of_groups(session, workspace_id=group.workspace_id, group_ids=[group.id])
        have = {r.id for r in held[group.id]}
        every = resources.all_of_kind(session, workspace_id=group.workspace_id, kind=section)
        items = [r for r in every if r.id not in have]
    return render(
        request,
        "team/_choices.html",
        {"group": group, "gid": ids.encode(group.id), "section": section, "items": items, "q": q},
    )


def _changed(request: Request, session: Session, op: Operator, group_id: int) -> Response:
    session.commit()
    group = groups.get(session, actor=op.actor, group_id=group_id)
    session.refresh(group)
    return _panel(request, session, op, group)


@router.post("/{group_id}/users/{user_id}/add")
def add_user(
    request: Request, session: SessionDep, op: OperatorDep, group_id: str, user_id: str
) -> Response:
    group = _group(session, op, group_id)
    person = ids.decode(user_id, what="person")
    groups.add_members(session, actor=op.actor, group_id=group.id, user_ids=[person])
    return _changed(request, session, op, group.id)


@router.post("/{group_id}/users/{user_id}/remove")
def remove_user(
    request: Request, session: SessionDep, op: OperatorDep, group_id: str, user_id: str
) -> Response:
    group = _group(session, op, group_id)
    person = ids.decode(user_id, what="person")
    groups.remove_members(session, actor=op.actor, group_id=group.id, user_ids=[person])
    return _changed(request, session, op, group.id)


@router.post("/{group_id}/resources/{resource_id}/add")
def add_resource(
    request: Request, session: SessionDep, op: OperatorDep, group_id: str, resource_id: str
) -> Response:
    group = _group(session, op, group_id)
    thing = ids.decode(resource_id, what="resource")
    resources.assign(session, actor=op.actor, group_ids=[group.id], resource_ids=[thing])
    return _changed(request, session, op, group.id)


@router.post("/{group_id}/resources/{resource_id}/remove")
def remove_resource(
    request: Request, session: SessionDep, op: OperatorDep, group_id: str, resource_id: str
) -> Response:
    group = _group(session, op, group_id)
    thing = ids.decode(resource_id, what="resource")
    resources.unassign(session, actor=op.actor, group_ids=[group.id], resource_ids=[thing])
    return _changed(request, session, op, group.id)
