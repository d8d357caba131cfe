"""The Member app page of the admin UI: which groups members see in the app, how they join them
(closed, open with a toggle, or with a code), when, in which order, and with what description.

Times are typed and shown in the workspace's time zone and stored in UTC.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from coterie import ids
from coterie.engagement import member_groups
from coterie.engagement.models import JOIN_POLICIES, MemberGroup
from coterie.engagement.schemas import MemberGroupUpdate
from coterie.errors import CoterieError, Invalid
from coterie.groups import service as groups
from coterie.groups.models import Group
from coterie.web.campaign_form import from_local_input, to_local_input
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

router = APIRouter(
    prefix="/member-groups", route_class=WebRoute, dependencies=[Depends(check_csrf)]
)
POLICIES = {
    "closed": "Closed: admins add members",
    "open": "Open: members join with a toggle",
    "code": "Private: members join with a code",
}


@router.get("")
def list_page(request: Request, session: SessionDep, op: OperatorDep) -> Response:
    shown = member_groups.list_settings(session, actor=op.actor)
    taken = {g.id for g, _ in shown}
    every = groups.list_groups(
        session, actor=op.actor, sort="name", descending=False, size=200, with_total=False
    ).items
    context: dict[str, Any] = {
        "section": "member_groups",
        "rows": shown,
        "others": [g for g in every if g.id not in taken and g.selection == "manual"],
        "policies": POLICIES,
        "can_write": op.actor.can_write,
        "tz": op.workspace.time_zone,
    }
    return render(request, "member_groups/list.html", context)


def _edit(
    request: Request,
    session: Session,
    op: Operator,
    group: Group,
    values: dict[str, Any],
    *,
    error: CoterieError | None = None,
    status: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "section": "member_groups",
        "group": group,
        "values": values,
        "policies": POLICIES,
        "error": error,
        "can_write": op.actor.can_write,
        "tz": op.workspace.time_zone,
    }
    return render(request, "member_groups/edit.html", context, status=status)


def _values(settings: MemberGroup | None, time_zone: str) -> dict[str, Any]:
    if settings is None:
        return {
            "join_policy": "open",
            "user_viewable": True,
            "app_description": "",
            "starts_at": "",
            "ends_at": "",
            "display_order": 0,
        }
    return {
        "join_policy": settings.join_policy,
        "user_viewable": settings.user_viewable,
        "app_description": settings.app_description,
        "starts_at": to_local_input(settings.starts_at, time_zone),
        "ends_at": to_local_input(settings.ends_at, time_zone),
        "display_order": settings.display_order,
    }


@router.get("/add")
def add(request: Request, group: str = "") -> Response:
    """The list's "Add to app" picker: on to that group's settings."""
    return redirect(f"/member-groups/{ids.encode(ids.decode(group[:13], what='group'))}")


@router.get("/{group_id}")
def edit_page(request: Request, session: SessionDep, op: OperatorDep, group_id: str) -> Response:
    group = groups.get(session, actor=op.actor, group_id=ids.decode(group_id, what="group"))
    settings = member_groups.find(session, workspace_id=group.workspace_id, group_id=group.id)
    return _edit(request, session, op, group, _values(settings, op.workspace.time_zone))


@router.post("/{group_id}")
def save(
    request: Request, session: SessionDep, op: OperatorDep, form: FormDep, group_id: str
) -> Response:
    group = groups.get(session, actor=op.actor, group_id=ids.decode(group_id, what="group"))
    tz = op.workspace.time_zone
    policy = str(form.get("join_policy", "closed"))
    values: dict[str, Any] = {
        "join_policy": policy if policy in JOIN_POLICIES else "closed",
        "user_viewable": form.get("user_viewable") == "on",
        "app_description": str(form.get("app_description", ""))[:2000],
        "starts_at": str(form.get("starts_at", ""))[:40],
        "ends_at": str(form.get("ends_at", ""))[:40],
        "display_order": str(form.get("display_order", "0"))[:12],
    }
    try:
        try:
            order = int(values["display_order"] or 0)
        except ValueError:
            raise Invalid("Give a whole number", field="display_order") from None
        data = MemberGroupUpdate(
            join_policy=values["join_policy"],
            user_viewable=values["user_viewable"],
            app_description=values["app_description"],
            starts_at=from_local_input(values["starts_at"], tz, "starts_at"),
            ends_at=from_local_input(values["ends_at"], tz, "ends_at"),
            display_order=order,
        )
        member_groups.update(session, actor=op.actor, group_id=group.id, data=data)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "display_order"
        label = field.replace("_", " ").capitalize()
        problem = Invalid(f"{label}: {error['msg']}", field=field)
        return _edit(request, session, op, group, values, error=problem, status=400)
    except CoterieError as exc:
        session.rollback()
        return _edit(request, session, op, group, values, error=exc, status=exc.status)
    flash(request, f"Saved the member app settings of {group.name}.")
    return redirect("/member-groups")
