"""Edit a group: its details and metadata, and for a rule group its rule.

A changed rule is never saved blind: the page first shows whom it would add and remove (with
samples) and saves only when that is confirmed, as DESIGN §3 asks. The confirmation carries the
edited draft in a hidden field, so "Back to editing" returns to exactly what was typed.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from coterie import ids
from coterie.directory import forms
from coterie.errors import Conflict, Invalid, NotFound
from coterie.groups import service as groups
from coterie.groups.models import Group
from coterie.groups.schemas import GroupUpdate
from coterie.rules import parse_filter, to_json
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
from coterie.web.group_form import (
    GroupDraft,
    Problems,
    builder_fields,
    check_details,
    check_metadata,
    check_rule,
    people,
    rule_input,
)
from coterie.web.group_wizard import rule_context, summary

router = APIRouter(prefix="/groups", route_class=WebRoute, dependencies=[Depends(check_csrf)])


def _group(session: Session, op: Operator, group_id: str) -> Group:
    return groups.get(session, actor=op.actor, group_id=ids.decode(group_id, what="group"))


def _page(
    request: Request,
    session: Session,
    op: Operator,
    group: Group,
    draft: GroupDraft,
    problems: Problems,
    *,
    status: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "section": "groups",
        "group": group,
        "gid": ids.encode(group.id),
        "draft": draft,
        "problems": problems,
        "forms": forms.list_forms(session, actor=op.actor),
        "can_write": op.actor.can_write,
    }
    if group.selection == "rule":
        context.update(rule_context(session, op, draft, problems, group_id=group.id))
    return render(request, "groups/edit.html", context, status=status)


def _rule_changed(group: Group, draft: GroupDraft) -> bool:
    """Whether the draft's rule differs from the saved one (same rule, other spelling: no)."""

    def canonical(text: str, at: str) -> Any:
        rule = parse_filter(rule_input(text, at=at), at=at)
        return None if rule is None else to_json(rule)

    excluded = sorted(ids.decode(e, what="person") for e in draft.excluded)
    return (
        canonical(draft.include, "include") != group.include_rule
        or canonical(draft.exclude, "exclude") != group.exclude_rule
        or excluded != sorted(group.excluded_user_ids)
    )


@router.get("/{group_id}/edit")
def edit(request: Request, session: SessionDep, op: OperatorDep, group_id: str) -> Response:
    group = _group(session, op, group_id)
    draft = GroupDraft.of_group(group, groups.form_ids(session, group=group))
    return _page(request, session, op, group, draft, Problems())


@router.post("/{group_id}/edit")
def save(
    request: Request, session: SessionDep, op: OperatorDep, group_id: str, form: FormDep
) -> Response:
    group = _group(session, op, group_id)
    if form.get("draft"):  # from the confirmation
        draft = GroupDraft.from_token(form.get("draft"))
        draft.selection = group.selection
    else:
        draft = GroupDraft.of_group(group, groups.form_ids(session, group=group))
        for part in ("details", "selection", "metadata"):
            draft.read(form, part)
    go = str(form.get("go", ""))
    if go == "edit":
        return _page(request, session, op, group, draft, Problems())
    problems = Problems()
    check_details(session, op, draft, problems, group.id)
    check_metadata(draft, problems)
    builder = builder_fields(session, op, without=group.id)
    changed = False
    if group.selection == "rule":
        result = check_rule(session, op, draft, problems, builder, group_id=group.id)
        if result is not None:
            changed = _rule_changed(group, draft)
            if changed and go != "confirm" and not problems:
                return _confirm(request, session, op, group, draft, result)
    if problems:
        return _page(request, session, op, group, draft, problems, status=400)
    values: dict[str, Any] = {
        "name": draft.name,
        "description": draft.description,
        "tags": draft.tags,
        "status": draft.status,
        "attributes": draft.attributes_dict(),
        "form_ids": draft.form_ids,
    }
    if changed:
        values.update(draft.rule_fields())
    try:
        groups.update(
            session, actor=op.actor, group_id=group.id, data=GroupUpdate.model_validate(values)
        )
        session.commit()
    except ValidationError as exc:
        session.rollback()
        problems.add_invalid(exc, builder)
    except (Invalid, Conflict, NotFound) as exc:
        session.rollback()
        problems.add(exc, builder)
    if problems:
        group = _group(session, op, group_id)
        return _page(request, session, op, group, draft, problems, status=400)
    message = f"Saved {draft.name}."
    if changed:
        count = group.member_count
        noun = "person" if count == 1 else "people"
        message = f"Saved {draft.name}: the new rule selects {count} {noun}."
    flash(request, message)
    return redirect(f"/groups/{ids.encode(group.id)}", request)


def _confirm(
    request: Request,
    session: Session,
    op: Operator,
    group: Group,
    draft: GroupDraft,
    result: Any,
) -> Response:
    """The preview of a rule change: who would join and who would leave, before saving."""
    context = rule_context(session, op, draft, Problems(), group_id=group.id)
    saved = GroupDraft.of_group(group, [])
    return render(
        request,
        "groups/confirm.html",
        {
            "section": "groups",
            "group": group,
            "gid": ids.encode(group.id),
            "draft": draft,
            "preview": result,
            "new_rule": summary(draft, context["labels"]),
            "old_rule": summary(saved, context["labels"]),
            "excluded_people": context["excluded_people"],
            "old_excluded": people(session, op, saved.excluded),
        },
    )
