"""Groups: create, read, update, delete, and their manual members.

A manual group's members are added and removed by hand (or by import, code, self-join, SCIM);
a rule group's members are what its rule selects, evaluated when saved (static) or kept so at
every write (dynamic), so they refuse manual edits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, literal, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from coterie import ids
from coterie.actor import Actor, Role
from coterie.db import utcnow
from coterie.directory import forms as directory_forms
from coterie.directory.models import User
from coterie.directory.service import require_write
from coterie.errors import Conflict, Forbidden, Invalid, NotFound
from coterie.events import service as audit
from coterie.groups import graph, hierarchy, storage
from coterie.groups.catalog import GroupRule, people_catalog
from coterie.groups.evaluation import (
    Evaluation,
    count_changes,
    evaluate,
    propagate,
    record_changes,
)
from coterie.groups.models import Group, GroupForm, Membership
from coterie.groups.schemas import GroupCreate, GroupFields, GroupUpdate
from coterie.pagination import Page, SortKey, paginate
from coterie.rules import fields_read, is_time_relative, referenced_groups, to_json
from coterie.workspaces import service as workspaces

_CHUNK = 1_000  # rows per INSERT: SQLite allows 32,766 bound parameters per statement
_AUDITED = (
    *("name", "description", "tags", "status", "attributes"),
    *("include_rule", "exclude_rule", "excluded_user_ids"),
    *("billing_email", "billing_plan", "billing_seats"),
)


def require_read(actor: Actor) -> None:
    """Groups show whole sets of people: operators read them, identified-only people do not."""
    if actor.role in (Role.NONE, Role.IDENTIFIED_ONLY):
        raise Forbidden(f"The {actor.role.value} role cannot see groups")


def get(session: Session, *, actor: Actor, group_id: int) -> Group:
    require_read(actor)
    group = session.get(Group, (actor.workspace_id, group_id))
    if group is None or not actor.sees_group(group_id):
        raise NotFound(f"No group with id {ids.encode(group_id)}")
    return group


def find_by_name(session: Session, *, workspace_id: int, name: str) -> Group | None:
    return session.scalar(
        select(Group).where(Group.workspace_id == workspace_id, Group.name == name)
    )


def form_ids(session: Session, *, group: Group) -> list[int]:
    return form_ids_of(session, workspace_id=group.workspace_id, group_ids=[group.id])[group.id]


def form_ids_of(
    session: Session, *, workspace_id: int, group_ids: Sequence[int]
) -> dict[int, list[int]]:
    """The forms attached to each group, in order, in one query for a whole page of groups."""
    found: dict[int, list[int]] = {group_id: [] for group_id in group_ids}
    stmt = (
        select(GroupForm.group_id, GroupForm.form_id)
        .where(GroupForm.workspace_id == workspace_id, GroupForm.group_id.in_(list(group_ids)))
        .order_by(GroupForm.group_id, GroupForm.position)
    )
    for group_id, form_id in session.execute(stmt):
        found[group_id].append(form_id)
    return found


def _snapshot(group: Group) -> dict[str, Any]:
    return {name: getattr(group, name) for name in _AUDITED}


def _check_people(session: Session, *, workspace_id: int, people: list[int], at: str) -> None:
    if not people:
        return
    found = set(
        session.scalars(
            select(User.id).where(User.workspace_id == workspace_id, User.id.in_(people))
        )
    )
    for index, person in enumerate(people):
        if person not in found:
            raise Invalid(f"No person with id {ids.encode(person)}", field=f"{at}[{index}]")


def _unique_name(session: Session, *, workspace_id: int, name: str, exclude: int | None) -> None:
    existing = find_by_name(session, workspace_id=workspace_id, name=name)
    if existing is not None and existing.id != exclude:
        raise Conflict(f"A group named {name!r} already exists", field="name")


def _apply_rule(
    session: Session, *, actor: Actor, group: Group, data: GroupFields, creating: bool
) -> bool:
    """Set the rule fields given; True when the rule changed. Checks the rule, cycles included."""
    given = data.model_fields_set
    if not ({"include", "exclude", "excluded_user_ids"} & given):
        if creating and group.selection == "rule":
            raise Invalid("A rule group needs an include rule", field="include")
        return False
    if group.selection != "rule":
        raise Invalid(
            "Only rule groups have rules; this group's members are chosen by hand",
            field=next(iter(sorted({"include", "exclude", "excluded_user_ids"} & given))),
        )
    excluded = group.excluded_user_ids
    if "excluded_user_ids" in given:
        excluded = ids.decode_all(
            data.excluded_user_ids or [], what="person", at="excluded_user_ids"
        )
        _check_people(
            session, workspace_id=actor.workspace_id, people=excluded, at="excluded_user_ids"
        )
    include = data.include if "include" in given else group.include_rule
    exclude = data.exclude if "exclude" in given else group.exclude_rule
    rule = GroupRule.parse(include, exclude, excluded)
    if rule is None:
        raise Invalid("A rule group needs an include rule", field="include")
    catalog = people_catalog(session, workspace_id=actor.workspace_id)
    dialect = session.get_bind().dialect.name
    rule.sql(catalog, dialect=dialect, now=utcnow())  # validates every clause against the fields
    read = fields_read(rule.include, catalog, at="include")
    names = referenced_groups(rule.include)
    relative = is_time_relative(rule.include)
    if rule.exclude is not None:
        read |= fields_read(rule.exclude, catalog, at="exclude")
        names |= referenced_groups(rule.exclude)
        relative = relative or is_time_relative(rule.exclude)
    references = sorted(ids.decode(n, what="group") for n in names)
    if group.id in references:
        raise Invalid(f"member_of cannot name the group itself ({group.name})", field="include")
    graph.check_acyclic(
        session,
        workspace_id=actor.workspace_id,
        group_id=group.id,
        name=group.name,
        references=references,
    )
    new = (
        to_json(rule.include),
        None if rule.exclude is None else to_json(rule.exclude),
        sorted(rule.excluded_ids),
    )
    old = (group.include_rule, group.exclude_rule, sorted(group.excluded_user_ids or []))
    group.include_rule, group.exclude_rule, group.excluded_user_ids = new[0], new[1], new[2]
    group.fields_read = sorted(read)
    group.references = references
    group.time_relative = relative
    return creating or new != old


def _apply_forms(session: Session, *, actor: Actor, group: Group, data: GroupFields) -> None:
    if data.form_ids is None:
        return
    wanted = ids.decode_all(data.form_ids, what="form", at="form_ids")
    for index, form_id in enumerate(wanted):
        try:
            directory_forms.get_form(session, actor=actor, form_id=form_id)
        except NotFound:
            raise Invalid(
                f"No form with id {ids.encode(form_id)}", field=f"form_ids[{index}]"
            ) from None
    session.execute(
        delete(GroupForm).where(
            GroupForm.workspace_id == group.workspace_id, GroupForm.group_id == group.id
        )
    )
    for position, form_id in enumerate(dict.fromkeys(wanted)):
        session.add(
            GroupForm(
                workspace_id=group.workspace_id,
                group_id=group.id,
                form_id=form_id,
                position=position,
            )
        )


def _apply_billing(group: Group, data: GroupFields) -> None:
    """Billing fields belong to level-1 groups; `null` clears one."""
    values = data.model_dump(exclude_unset=True, include=set(hierarchy.BILLING_FIELDS))
    if not values:
        return
    if group.parent_id is not None and any(v is not None for v in values.values()):
        field = next(name for name, value in values.items() if value is not None)
        raise Invalid("Only a level-1 group (without a parent) carries billing fields", field=field)
    for name, value in values.items():
        setattr(group, name, value.strip() or None if isinstance(value, str) else value)


def _apply_details(group: Group, data: GroupFields) -> None:
    values = data.model_dump(
        exclude_unset=True, include={"name", "description", "tags", "status", "attributes"}
    )
    if "tags" in values and values["tags"] is not None:
        values["tags"] = list(dict.fromkeys(t.strip() for t in values["tags"] if t.strip()))
    for name, value in values.items():
        if value is None and name == "name":
            raise Invalid("A group needs a name", field="name")
        if value is not None:
            setattr(group, name, value)


def create(session: Session, *, actor: Actor, data: GroupCreate) -> Group:
    require_write(actor)
    _unique_name(session, workspace_id=actor.workspace_id, name=data.name, exclude=None)
    if data.selection == "manual" and data.behaviour is not None:
        raise Invalid("Only rule groups are static or dynamic", field="behaviour")
    group = Group(
        workspace_id=actor.workspace_id,
        id=ids.new_id(),
        selection=data.selection,
        behaviour=(data.behaviour or "dynamic") if data.selection == "rule" else None,
        source=data.source,
        source_ref=data.source_ref,
        tags=[],
        attributes={},
        excluded_user_ids=[],
        fields_read=[],
        references=[],
        created_by_id=actor.user_id,
        created_by_label=actor.label[:200],
    )
    parent_id = hierarchy.decode_parent(data.parent_id) if data.parent_id is not None else None
    hierarchy.check_placement(actor, parent_id)
    if parent_id is not None:
        hierarchy.check_parent(session, workspace_id=actor.workspace_id, parent_id=parent_id)
        group.parent_id = parent_id
    _apply_details(group, data)
    _apply_billing(group, data)
    _apply_rule(session, actor=actor, group=group, data=data, creating=True)
    session.add(group)
    session.flush()
    _apply_forms(session, actor=actor, group=group, data=data)
    audit.record(
        session,
        actor=actor,
        action="group.created",
        target_type="group",
        target_id=group.id,
        target_label=group.name,
        after=_snapshot(group),
    )
    if group.selection == "rule":
        evaluate(session, actor=actor, group=group)
        if group.is_dynamic:
            workspaces.rules_changed(session, workspace_id=actor.workspace_id)
    session.flush()
    return group


def update(session: Session, *, actor: Actor, group_id: int, data: GroupUpdate) -> Group:
    """Change details or rule; a new rule re-evaluates at once, and the groups reading this one."""
    require_write(actor)
    group = get(session, actor=actor, group_id=group_id)
    before = _snapshot(group)
    if data.name is not None:
        _unique_name(session, workspace_id=actor.workspace_id, name=data.name, exclude=group.id)
    _apply_details(group, data)
    _apply_billing(group, data)
    rule_changed = _apply_rule(session, actor=actor, group=group, data=data, creating=False)
    _apply_forms(session, actor=actor, group=group, data=data)
    group.updated_at = utcnow()
    session.flush()
    old, new = audit.changes(before, _snapshot(group))
    if new or data.form_ids is not None:
        audit.record(
            session,
            actor=actor,
            action="group.updated",
            target_type="group",
            target_id=group.id,
            target_label=group.name,
            before=old,
            after=new,
        )
    if rule_changed:
        result = evaluate(session, actor=actor, group=group)
        if group.is_dynamic:
            workspaces.rules_changed(session, workspace_id=actor.workspace_id)
            if result.added or result.removed:
                propagate(session, actor=actor, workspace_id=actor.workspace_id, changed=[group.id])
    return group


# What else refers to a group, by the domains above this one (campaigns): each check returns
# (kind, id, name) of the records that name the group; deletion is refused while any does.
GroupReferences = Callable[[Session, int, int], list[tuple[str, int, str]]]
_REFERENCE_CHECKS: list[GroupReferences] = []


def register_references(check: GroupReferences) -> None:
    """Let a higher domain keep groups it names from being deleted (groups cannot import it)."""
    if check not in _REFERENCE_CHECKS:
        _REFERENCE_CHECKS.append(check)


def delete_group(session: Session, *, actor: Actor, group_id: int) -> None:
    """Deletes the group and its memberships, never people; refused while rules name it."""
    require_write(actor)
    group = get(session, actor=actor, group_id=group_id)
    readers = graph.referencing(session, workspace_id=actor.workspace_id, group_id=group.id)
    if readers:
        names = ", ".join(reader.name for reader in readers)
        raise Conflict(
            f"{group.name} is used by the rules of: {names}; change those rules first",
            referenced_by=[{"id": ids.encode(r.id), "name": r.name} for r in readers],
        )
    others = [
        ref for check in _REFERENCE_CHECKS for ref in check(session, group.workspace_id, group.id)
    ]
    if others:
        names = ", ".join(f"{kind} {name}" for kind, _, name in others)
        raise Conflict(
            f"{group.name} is used by: {names}; change those first",
            referenced_by=[{"kind": k, "id": ids.encode(i), "name": n} for k, i, n in others],
        )
    subgroups = hierarchy.has_subgroups(session, group=group)
    if subgroups:
        names = ", ".join(sub.name for sub in subgroups)
        raise Conflict(
            f"{group.name} has subgroups: {names}; move or delete them first",
            subgroups=[{"id": ids.encode(sub.id), "name": sub.name} for sub in subgroups],
        )
    audit.record(
        session,
        actor=actor,
        action="group.deleted",
        target_type="group",
        target_id=group.id,
        target_label=group.name,
        before={**_snapshot(group), "member_count": group.member_count},
    )
    gone = session.scalars(
        delete(Membership)
        .where(Membership.workspace_id == group.workspace_id, Membership.group_id == group.id)
        .returning(Membership.user_id)
    ).all()
    record_changes(session, actor=actor, group=group, added=[], removed=gone, reason="deleted")
    if group.is_dynamic:
        workspaces.rules_changed(session, workspace_id=actor.workspace_id)
    parent_id = group.parent_id
    session.delete(group)  # its resource assignments go with it (ON DELETE CASCADE)
    session.flush()
    if parent_id is not None:
        above = hierarchy.ancestor_ids(
            session, workspace_id=actor.workspace_id, group_ids=[parent_id]
        )
        hierarchy.recount(session, workspace_id=actor.workspace_id, group_ids=above)


def _require_manual(group: Group) -> None:
    if group.selection == "rule":
        kind = "dynamic" if group.is_dynamic else "static rule"
        raise Conflict(
            f"{group.name} is a {kind} group: its members are what its rule selects. "
            "Change the rule, or exclude people by name, instead of editing members",
            field="user_ids",
        )


def add_members(
    session: Session,
    *,
    actor: Actor,
    group_id: int,
    user_ids: Sequence[int],
    source: str = "manual",
    expires_at: datetime | None = None,
) -> tuple[int, int]:
    """Add people to a manual group; returns (added, already members: left as they were)."""
    require_write(actor)
    group = get(session, actor=actor, group_id=group_id)
    _require_manual(group)
    people = list(dict.fromkeys(user_ids))
    _check_people(session, workspace_id=actor.workspace_id, people=people, at="user_ids")
    if expires_at is not None and expires_at <= utcnow():
        raise Invalid("The expiry must be in the future", field="expires_at")
    now = utcnow()
    new: list[int] = []
    for start in range(0, len(people), _CHUNK):
        rows = [
            {
                "workspace_id": group.workspace_id,
                "group_id": group.id,
                "user_id": person,
                "source": source,
                "added_by_id": actor.user_id,
                "added_by_label": actor.label[:200],
                "added_at": now,
                "expires_at": expires_at,
            }
            for person in people[start : start + _CHUNK]
        ]
        stmt = storage.insert_new(session).values(rows).returning(Membership.user_id)
        new += session.scalars(stmt)
    if new:
        count_changes(session, group=group, delta=len(new))
        record_changes(session, actor=actor, group=group, added=new, removed=[], reason=source)
        propagate(
            session, actor=actor, workspace_id=group.workspace_id, changed=[group.id], people=new
        )
    session.flush()
    return len(new), len(people) - len(new)


def remove_members(
    session: Session,
    *,
    actor: Actor,
    group_id: int,
    user_ids: Sequence[int],
    reason: str = "manual",
) -> tuple[int, int]:
    """Remove people from a manual group; returns (removed, not members)."""
    require_write(actor)
    group = get(session, actor=actor, group_id=group_id)
    _require_manual(group)
    people = list(dict.fromkeys(user_ids))
    removed = (
        list(
            session.scalars(
                delete(Membership)
                .where(
                    Membership.workspace_id == group.workspace_id,
                    Membership.group_id == group.id,
                    Membership.user_id.in_(people),
                )
                .returning(Membership.user_id)
            )
        )
        if people
        else []
    )
    if removed:
        count_changes(session, group=group, delta=-len(removed))
        record_changes(session, actor=actor, group=group, added=[], removed=removed, reason=reason)
        propagate(
            session,
            actor=actor,
            workspace_id=group.workspace_id,
            changed=[group.id],
            people=removed,
        )
    session.flush()
    return len(removed), len(people) - len(removed)


def reevaluate(session: Session, *, actor: Actor, group_id: int) -> Evaluation:
    """Re-evaluate a rule group now (for a static group: take a new snapshot)."""
    require_write(actor)
    group = get(session, actor=actor, group_id=group_id)
    if group.selection != "rule":
        raise Invalid(
            f"{group.name} has no rule to evaluate: its members are chosen by hand",
            field="group_id",
        )
    result = evaluate(session, actor=actor, group=group)
    if group.is_dynamic and (result.added or result.removed):
        propagate(session, actor=actor, workspace_id=group.workspace_id, changed=[group.id])
    session.flush()
    return result


def groups_of(session: Session, *, actor: Actor, user_id: int) -> list[tuple[Membership, Group]]:
    """The groups a person is in, by name."""
    stmt = (
        select(Membership, Group)
        .join(
            Group,
            (Group.workspace_id == Membership.workspace_id) & (Group.id == Membership.group_id),
        )
        .where(Membership.workspace_id == actor.workspace_id, Membership.user_id == user_id)
        .order_by(Group.name, Group.id)
    )
    if actor.scope is not None:
        stmt = stmt.where(Group.id.in_(sorted(actor.scope)))
    return [(row[0], row[1]) for row in session.execute(stmt)]


def members_total(session: Session, *, group: Group) -> int:
    """Count the stored members (the kept `member_count` should always equal it)."""
    stmt = (
        select(func.count())
        .select_from(Membership)
        .where(Membership.workspace_id == group.workspace_id, Membership.group_id == group.id)
    )
    return int(session.scalar(stmt) or 0)


GROUP_SORTS = ("name", "member_count", "status", "created_at", "created_by_label", "updated_at")
GROUP_KINDS = ("manual", "static", "dynamic")


def list_groups(
    session: Session,
    *,
    actor: Actor,
    search: str | None = None,
    tag: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    sort: str = "created_at",
    descending: bool = True,
    size: int = 25,
    cursor: str | None = None,
    with_total: bool = True,
) -> Page[Group]:
    """The dashboard: filter by name, tag, status and kind; keyset pages on any shown column."""
    require_read(actor)
    if sort not in GROUP_SORTS:
        raise Invalid(f"Cannot sort groups by {sort!r}", field="sort")
    stmt = select(Group).where(Group.workspace_id == actor.workspace_id)
    if actor.scope is not None:  # an operator limited to some groups sees only those
        stmt = stmt.where(Group.id.in_(sorted(actor.scope)))
    if search:
        stmt = stmt.where(func.lower(Group.name).contains(search.lower(), autoescape=True))
    if status is not None:
        stmt = stmt.where(Group.status == status)
    if kind is not None:
        if kind not in GROUP_KINDS:
            raise Invalid(f"kind must be one of {', '.join(GROUP_KINDS)}", field="kind")
        stmt = stmt.where(
            Group.selection == "manual" if kind == "manual" else Group.behaviour == kind
        )
    if tag:
        stmt = stmt.where(_has_tag(session, tag))
    key = SortKey(getattr(Group.__table__.c, sort), nullable=False, name=sort)
    return paginate(
        session,
        stmt,
        key=key,
        row_id=Group.__table__.c.id,
        descending=descending,
        size=size,
        cursor=cursor,
        count=with_total,
    )


def _has_tag(session: Session, tag: str) -> ColumnElement[bool]:
    tags = Group.__table__.c.tags
    if session.get_bind().dialect.name == "postgresql":
        return type_coerce(tags, JSONB).contains([tag])
    each = func.json_each(tags).table_valued("value")
    return select(literal(1)).select_from(each).where(each.c.value == tag).exists()


def all_tags(session: Session, *, actor: Actor) -> list[str]:
    """Every tag in use in the workspace, for the dashboard's filter."""
    found: set[str] = set()
    for tags in session.scalars(select(Group.tags).where(Group.workspace_id == actor.workspace_id)):
        found.update(tags or ())
    return sorted(found, key=str.casefold)
