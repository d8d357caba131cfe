"""Create User Group: a five-step wizard, and the live count its rule builders ask for.

Steps: name and details, configuration (manual or rule; static or dynamic), user selection,
metadata, preview. Nothing is written before Save: each step posts the draft back to
`/groups/new`, which checks the step being left and shows the next one, or the same one with
each problem next to its input. Save checks every step again and creates the group at once.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from coterie import ids
from coterie.access import roles
from coterie.actor import Role
from coterie.directory import forms
from coterie.errors import Conflict, Invalid, NotFound
from coterie.groups import service as groups
from coterie.groups.schemas import GroupCreate
from coterie.web import filters, rule_words
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
    STEP_TITLES,
    STEPS,
    GroupDraft,
    Problems,
    builder_fields,
    check_configuration,
    check_details,
    check_metadata,
    check_rule,
    parent_choices,
    people,
    rule_input,
    rule_labels,
)

router = APIRouter(prefix="/groups", route_class=WebRoute, dependencies=[Depends(check_csrf)])


def rule_context(
    session: Session,
    op: Operator,
    draft: GroupDraft,
    problems: Problems,
    *,
    group_id: int | None = None,
) -> dict[str, Any]:
    """What the include and exclude builders and the excluded-people picker show."""
    builder = builder_fields(session, op, without=group_id)

    def state(text: str) -> filters.BuilderState:
        try:
            tree = rule_input(text, at="rule")
        except Invalid:
            tree = None
        return filters.builder_state(tree if isinstance(tree, dict) else None, text)

    return {
        "builder_fields": builder,
        "operator_labels": filters.OPERATOR_LABELS,
        "include_builder": state(draft.include),
        "exclude_builder": state(draft.exclude),
        "include_errors": problems.rules.get("include", []),
        "exclude_errors": problems.rules.get("exclude", []),
        "excluded_people": people(session, op, draft.excluded),
        "labels": rule_labels(builder),
    }


def summary(draft: GroupDraft, labels: dict[str, str]) -> dict[str, str]:
    """The rule in words, for the preview step and the edit confirmation."""
    include = exclude = ""
    try:
        tree = rule_input(draft.include, at="include")
        include = rule_words.describe(tree, labels) if isinstance(tree, dict) else str(tree or "")
        tree = rule_input(draft.exclude, at="exclude")
        exclude = rule_words.describe(tree, labels) if isinstance(tree, dict) else str(tree or "")
    except Invalid:
        pass
    return {"include": include, "exclude": exclude}


def _page(
    request: Request,
    session: Session,
    op: Operator,
    draft: GroupDraft,
    step: str,
    problems: Problems,
    *,
    status: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "section": "groups",
        "draft": draft,
        "step": step,
        "index": STEPS.index(step),
        "steps": list(zip(STEPS, STEP_TITLES, strict=True)),
        "problems": problems,
        "forms": forms.list_forms(session, actor=op.actor),
        "can_write": op.actor.can_write,
    }
    if step in ("details", "preview"):
        context["parents"] = parent_choices(session, op)
        context["scoped"] = op.actor.scope is not None
    if step == "selection":
        context.update(rule_context(session, op, draft, problems))
        context["members"] = people(session, op, draft.members)
    elif step == "preview":
        context.update(rule_context(session, op, draft, problems))
        context["summary"] = summary(draft, context["labels"])
        context["members"] = people(session, op, draft.members)
        context["preview"] = (
            check_rule(session, op, draft, Problems(), context["builder_fields"])
            if draft.is_rule
            else None
        )
        context["chosen_forms"] = [
            f for f in context["forms"] if ids.encode(f.id) in draft.form_ids
        ]
    return render(request, "groups/wizard.html", context, status=status)


def _check(session: Session, op: Operator, draft: GroupDraft, step: str) -> Problems:
    """The problems of one step, as Save would find them."""
    problems = Problems()
    if step == "details":
        check_details(session, op, draft, problems, None)
    elif step == "configuration":
        check_configuration(draft, problems)
    elif step == "selection" and draft.is_rule:
        check_rule(session, op, draft, problems, builder_fields(session, op), sample_size=0)
    elif step == "selection":
        known = {ids.encode(p.id) for p in people(session, op, draft.members)}
        if any(m not in known for m in draft.members):
            problems.fields["members"] = "Someone you picked is no longer in the directory."
    elif step == "metadata":
        check_metadata(draft, problems)
    return problems


@router.get("/new")
def new(request: Request, session: SessionDep, op: OperatorDep) -> Response:
    return _page(request, session, op, GroupDraft(), "details", Problems())


@router.post("/new")
def advance(request: Request, session: SessionDep, op: OperatorDep, form: FormDep) -> Response:
    draft = GroupDraft.from_token(form.get("draft"))
    current = str(form.get("step", ""))
    current = current if current in STEPS else "details"
    if current != "preview":
        draft.read(form, current)
    go = str(form.get("go", "next"))
    here = STEPS.index(current)
    if go == "back":
        return _page(request, session, op, draft, STEPS[max(here - 1, 0)], Problems())
    if go in STEPS and STEPS.index(go) <= here:
        return _page(request, session, op, draft, go, Problems())
    checked = STEPS[: here + 1] if go != "save" else STEPS
    for name in checked:
        problems = _check(session, op, draft, name)
        if problems:
            return _page(request, session, op, draft, name, problems, status=400)
    if go != "save":
        return _page(request, session, op, draft, STEPS[min(here + 1, len(STEPS) - 1)], Problems())
    return _save(request, session, op, draft)


def _save(request: Request, session: Session, op: Operator, draft: GroupDraft) -> Response:
    problems = Problems()
    builder = builder_fields(session, op)
    try:
        data = GroupCreate.model_validate(
            {
                "name": draft.name,
                "parent_id": draft.parent_id or None,
                "description": draft.description,
                "tags": draft.tags,
                "status": draft.status,
                "attributes": draft.attributes_dict(),
                "form_ids": draft.form_ids,
                "selection": "rule" if draft.is_rule else "manual",
                "behaviour": draft.behaviour if draft.is_rule else None,
                "source": "manual",
                **(draft.rule_fields() if draft.is_rule else {}),
            }
        )
        group = groups.create(session, actor=op.actor, data=data)
        if not draft.is_rule and draft.members:
            chosen = [ids.decode(m, what="person") for m in draft.members]
            groups.add_members(session, actor=op.actor, group_id=group.id, user_ids=chosen)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        problems.add_invalid(exc, builder)
    except (Invalid, Conflict, NotFound) as exc:
        session.rollback()
        problems.add(exc, builder)
    if problems:
        return _page(request, session, op, draft, problems.step(), problems, status=400)
    count = group.member_count
    flash(
        request,
        f"Created {group.name} with {count} {'member' if count == 1 else 'members'}.",
    )
    return redirect(f"/groups/{ids.encode(group.id)}", request)


@router.post("/rule-preview", openapi_extra=roles.needs(Role.READ_ONLY))
def live_count(request: Request, session: SessionDep, op: OperatorDep, form: FormDep) -> Response:
    """How many people the rule being edited selects now (and, editing a group, the change)."""
    draft = GroupDraft(selection="rule")
    draft.read(form, "selection")
    group_id = None
    raw = form.get("group_id")
    if isinstance(raw, str) and raw:
        group_id = groups.get(session, actor=op.actor, group_id=ids.decode(raw, what="group")).id
    problems = Problems()
    builder = builder_fields(session, op, without=group_id)
    result = None
    if draft.include:
        result = check_rule(session, op, draft, problems, builder, group_id=group_id, sample_size=5)
    return render(
        request,
        "groups/_live_count.html",
        {
            "preview": result,
            "empty": not draft.include,
            "problems": problems,
            "include_errors": problems.rules.get("include", []),
            "exclude_errors": problems.rules.get("exclude", []),
        },
    )
