"""A person's profile: details, contacts, custom fields, groups, and the timeline of notes and
files. The groups card adds and removes manual memberships and explains rule memberships."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from coterie import ids
from coterie.access import grants
from coterie.directory import service as users
from coterie.directory import timeline
from coterie.directory.models import TimelineEntry, User
from coterie.directory.schemas import TimelineCreate
from coterie.errors import CoterieError, Invalid
from coterie.groups import preview
from coterie.groups import service as groups
from coterie.groups.catalog import people_catalog
from coterie.groups.models import Group
from coterie.rules import MEMBER_OF, Explanation, FieldCatalog, FieldType
from coterie.web import rule_words
from coterie.web.deps import (
    FormDep,
    Operator,
    OperatorDep,
    SessionDep,
    WebRoute,
    check_csrf,
    flash,
    is_htmx,
    redirect,
    render,
)
from coterie.web.templating import phone, stored_date
from coterie.web.userform import CONTACT_KINDS

router = APIRouter(prefix="/users", route_class=WebRoute, dependencies=[Depends(check_csrf)])

KINDS: dict[str, tuple[str, str, str]] = {
    # kind: (label, icon, colour)
    "note": ("Note", "note", "yellow"),
    "ticket": ("Ticket", "ticket", "orange"),
    "conversation": ("Conversation", "message-circle", "green"),
    "media": ("File", "paperclip", "azure"),
}


def _user(session: Any, op: Operator, user_id: str) -> User:
    return users.get(session, actor=op.actor, user_id=ids.decode(user_id, what="person"))


def _entry_context(op: Operator, user: User, entry: TimelineEntry) -> dict[str, Any]:
    return {"entry": entry, "user": user, "kinds": KINDS, "tz": op.workspace.time_zone}


@router.get("/{user_id}")
def show(request: Request, session: SessionDep, op: OperatorDep, user_id: str) -> Response:
    user = _user(session, op, user_id)
    entries = timeline.list_entries(session, actor=op.actor, user_id=user.id)
    custom = users.workspace_fields(session, workspace_id=op.actor.workspace_id)
    return render(
        request,
        "profile/show.html",
        {
            "user": user,
            "entries": entries,
            "custom_fields": custom,
            **groups_card(session, op, user),
            "access": grants.of_user(session, workspace_id=user.workspace_id, user_id=user.id),
            "kinds": KINDS,
            "contact_kinds": CONTACT_KINDS,
            "operator": op,
            "tz": op.workspace.time_zone,
            "note": "",
            "note_error": None,
            "file_error": None,
        },
    )


def _form_error(
    request: Request, op: Operator, user: User, exc: CoterieError, template: str, **extra: Any
) -> Response:
    """A rejected note or file: the form again with the message, or the whole page without htmx."""
    message = exc.errors[0].message if isinstance(exc, Invalid) and exc.errors else exc.detail
    if not is_htmx(request):
        flash(request, message, "danger")
        return redirect(f"/users/{ids.encode(user.id)}", request)
    context = {
        "user": user,
        "operator": op,
        "note": "",
        "note_error": None,
        "file_error": None,
        **extra,
    }
    is_note = template.endswith("note_form.html")
    context["note_error" if is_note else "file_error"] = message
    headers = {"HX-Retarget": "#note-form" if is_note else "#file-form", "HX-Reswap": "outerHTML"}
    return render(request, template, context, status=exc.status, headers=headers)


@router.post("/{user_id}/notes")
def add_note(
    request: Request, session: SessionDep, op: OperatorDep, user_id: str, form: FormDep
) -> Response:
    user = _user(session, op, user_id)
    body = form.get("body")
    text = body.strip() if isinstance(body, str) else ""
    try:
        entry = timeline.create(
            session,
            actor=op.actor,
            user_id=user.id,
            data=TimelineCreate(kind="note", body=text[:100_000]),
        )
        session.commit()
    except CoterieError as exc:
        session.rollback()
        return _form_error(request, op, user, exc, "profile/_note_form.html", note=text)
    if not is_htmx(request):
        flash(request, "Note added.")
        return redirect(f"/users/{ids.encode(user.id)}", request)
    return render(
        request,
        "profile/_added.html",
        {
            **_entry_context(op, user, entry),
            "operator": op,
            "form_template": "note",
            "note": "",
            "note_error": None,
            "file_error": None,
        },
    )


@router.post("/{user_id}/files")
def upload(
    request: Request, session: SessionDep, op: OperatorDep, user_id: str, form: FormDep
) -> Response:
    user = _user(session, op, user_id)
    upload = form.get("file")
    caption = form.get("caption")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise Invalid("Choose a file to upload", field="file")
        entry = timeline.attach(
            session,
            actor=op.actor,
            user_id=user.id,
            file_name=upload.filename,
            content_type=upload.content_type or "",
            stream=upload.file,
            caption=caption.strip()[:2000] if isinstance(caption, str) else "",
        )
        session.commit()
    except CoterieError as exc:
        session.rollback()
        return _form_error(request, op, user, exc, "profile/_file_form.html")
    if not is_htmx(request):
        flash(request, f"Uploaded {entry.file_name}.")
        return redirect(f"/users/{ids.encode(user.id)}", request)
    return render(
        request,
        "profile/_added.html",
        {
            **_entry_context(op, user, entry),
            "operator": op,
            "form_template": "file",
            "note": "",
            "note_error": None,
            "file_error": None,
        },
    )


@router.get("/{user_id}/files/{entry_id}")
def download(session: SessionDep, op: OperatorDep, user_id: str, entry_id: str) -> Response:
    user = _user(session, op, user_id)
    entry = timeline.get(
        session,
        actor=op.actor,
        user_id=user.id,
        entry_id=ids.decode(entry_id, what="timeline entry"),
    )
    return FileResponse(
        timeline.media_path(entry),
        media_type=entry.content_type or "application/octet-stream",
        # Always a download (FileResponse sets `attachment`); the app adds `nosniff` everywhere.
        filename=entry.file_name or "file",
    )


# ---------------------------------------------------------------------------------- groups

MEMBERSHIP_SOURCES: dict[str, str] = {
    "manual": "Added by hand",
    "rule": "Matched the rule",
    "import": "Imported",
    "code": "Joined with a code",
    "self": "Joined by themselves",
    "scim": "Provisioned by SCIM",
}
ADDABLE_LIMIT = 200  # manual groups offered in the profile's "Add to group" select


def manual_groups(session: Session, op: Operator, *, search: str = "", size: int) -> list[Group]:
    """The workspace's manual groups by name, for choosing some to add a person to."""
    page = groups.list_groups(
        session,
        actor=op.actor,
        search=search or None,
        kind="manual",
        sort="name",
        descending=False,
        size=size,
        with_total=False,
    )
    return list(page.items)


def groups_card(
    session: Session, op: Operator, user: User, *, notice: str | None = None
) -> dict[str, Any]:
    """What the profile's groups card shows: memberships, and manual groups to add the person to."""
    memberships = groups.groups_of(session, actor=op.actor, user_id=user.id)
    joined = {group.id for _, group in memberships}
    addable = []
    if op.actor.can_write:
        choices = manual_groups(session, op, size=ADDABLE_LIMIT)
        addable = [group for group in choices if group.id not in joined]
    return {
        "memberships": memberships,
        "addable": addable,
        "can_write": op.actor.can_write,
        "membership_sources": MEMBERSHIP_SOURCES,
        "groups_notice": notice,
    }


def _groups_changed(
    request: Request, session: Session, op: Operator, user: User, message: str
) -> Response:
    """After adding or removing: the card again (htmx), or the whole profile with a flash."""
    if not is_htmx(request):
        flash(request, message)
        return redirect(f"/users/{ids.encode(user.id)}", request)
    context = {"user": user, "tz": op.workspace.time_zone}
    context.update(groups_card(session, op, user, notice=message))
    return render(request, "profile/_groups.html", context)


@router.post("/{user_id}/memberships")
def join_group(
    request: Request, session: SessionDep, op: OperatorDep, user_id: str, form: FormDep
) -> Response:
    user = _user(session, op, user_id)
    chosen = form.get("group_id")
    if not isinstance(chosen, str) or not chosen:
        raise Invalid("Choose a group to add this person to", field="group_id")
    group = groups.get(session, actor=op.actor, group_id=ids.decode(chosen, what="group"))
    groups.add_members(session, actor=op.actor, group_id=group.id, user_ids=[user.id])
    session.commit()
    return _groups_changed(request, session, op, user, f"Added to {group.name}.")


@router.post("/{user_id}/memberships/{group_id}/remove")
def leave_group(
    request: Request, session: SessionDep, op: OperatorDep, user_id: str, group_id: str
) -> Response:
    user = _user(session, op, user_id)
    group = groups.get(session, actor=op.actor, group_id=ids.decode(group_id, what="group"))
    groups.remove_members(session, actor=op.actor, group_id=group.id, user_ids=[user.id])
    session.commit()
    return _groups_changed(request, session, op, user, f"Removed from {group.name}.")


@dataclass(frozen=True)
class Why:
    """One clause of a group's rule for one person, in words: what the Why panel lists."""

    kind: str  # all, any, not or condition
    matched: bool
    words: str
    now: str = ""  # what the person has for the clause's field
    clauses: tuple[Why, ...] = ()


_JOINERS = {"all": "All of these", "any": "Any of these", "not": "Not this"}


def _why(node: Explanation, labels: dict[str, str], catalog: FieldCatalog) -> Why:
    if node.kind != "condition":
        parts = tuple(_why(part, labels, catalog) for part in node.clauses)
        return Why(node.kind, node.matched, _JOINERS[node.kind], clauses=parts)
    field, op = node.field or "", node.op.value if node.op else ""
    words = rule_words.clause(field, op, node.value, labels)
    return Why("condition", node.matched, words, _now(node, labels, catalog))


def _now(node: Explanation, labels: dict[str, str], catalog: FieldCatalog) -> str:
    actual = node.actual
    if node.field == MEMBER_OF:
        names = [labels.get(str(g), str(g)) for g in actual] if isinstance(actual, list) else []
        return "in " + ", ".join(names) if names else "in none of these groups"
    if not node.is_set or actual is None:
        return "not set"
    if isinstance(actual, bool):
        return "Yes" if actual else "No"
    if isinstance(actual, list):
        return ", ".join(map(str, actual))
    kind = catalog.get(node.field or "", at="field").type
    if kind in (FieldType.DATE, FieldType.DATETIME) and isinstance(actual, str):
        return stored_date(actual)
    if kind == FieldType.PHONE and isinstance(actual, str):
        return phone(actual)
    text = str(int(actual)) if isinstance(actual, float) and actual.is_integer() else str(actual)
    return text if len(text) <= 60 else text[:59] + "…"


@router.get("/{user_id}/groups/{group_id}/why")
def why(
    request: Request, session: SessionDep, op: OperatorDep, user_id: str, group_id: str
) -> Response:
    """Why a rule group has (or no longer has) this person, clause by clause."""
    user = _user(session, op, user_id)
    group = groups.get(session, actor=op.actor, group_id=ids.decode(group_id, what="group"))
    result = preview.explain_member(session, actor=op.actor, group_id=group.id, user_id=user.id)
    catalog = people_catalog(session, workspace_id=op.actor.workspace_id)
    labels = {spec.name: spec.label or spec.name for spec in catalog}
    if group.references:  # member_of names these groups: show their names
        named = select(Group.id, Group.name).where(
            Group.workspace_id == op.actor.workspace_id, Group.id.in_(group.references)
        )
        labels.update({ids.encode(gid): name for gid, name in session.execute(named)})
    context = {
        "user": user,
        "group": group,
        "result": result,
        "include": _why(result.include, labels, catalog),
        "exclude": None if result.exclude is None else _why(result.exclude, labels, catalog),
        "tz": op.workspace.time_zone,
    }
    return render(request, "profile/_why.html", context)
