"""Campaigns in the admin UI: the list, the editor with its live audience count, launching, and
the frozen recipients (paged by person id, downloadable as CSV).

The count is htmx posting the editor's form to `/campaigns/count` on every change: nothing is
saved, and a bad rule shows its message in place of the number.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from coterie import ids
from coterie.access import roles
from coterie.actor import Role
from coterie.engagement import audience, campaigns, member_groups
from coterie.engagement.models import Campaign
from coterie.engagement.schemas import CampaignCreate, CampaignUpdate
from coterie.errors import CoterieError, Invalid
from coterie.groups import service as groups
from coterie.groups.models import Group
from coterie.rules import parse_tree, to_text
from coterie.web.campaign_form import CampaignDraft, to_local_input
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

router = APIRouter(prefix="/campaigns", route_class=WebRoute, dependencies=[Depends(check_csrf)])
KIND_LABELS = {
    "sms": "SMS",
    "email": "Email",
    "push": "Push",
    "whatsapp": "WhatsApp",
    "coupon": "Coupon",
    "game": "Game",
    "other": "Other",
}
STATUS_COLORS = {"draft": "secondary", "scheduled": "azure", "active": "green", "ended": "dark"}
RECIPIENT_PAGE = 50


def _all_groups(session: Session, op: Operator) -> list[Group]:
    page = groups.list_groups(
        session, actor=op.actor, sort="name", descending=False, size=200, with_total=False
    )
    return page.items


def _campaign(session: Session, op: Operator, campaign_id: str) -> Campaign:
    return campaigns.get(
        session, actor=op.actor, campaign_id=ids.decode(campaign_id, what="campaign")
    )


def _draft_of(session: Session, campaign: Campaign, time_zone: str) -> CampaignDraft:
    included, excluded = campaigns.targets(session, campaign=campaign)
    rule = ""
    if campaign.rule is not None:
        try:
            rule = to_text(parse_tree(campaign.rule, at="rule"), at="rule")
        except Invalid:
            rule = ""
    return CampaignDraft(
        name=campaign.name,
        kind=campaign.kind,
        include=[ids.encode(i) for i in included],
        exclude=[ids.encode(i) for i in excluded],
        rule=rule,
        starts_at=to_local_input(campaign.starts_at, time_zone),
        ends_at=to_local_input(campaign.ends_at, time_zone),
        join_group="" if campaign.join_group_id is None else ids.encode(campaign.join_group_id),
    )


def _editor(
    request: Request,
    session: Session,
    op: Operator,
    draft: CampaignDraft,
    *,
    campaign: Campaign | None = None,
    error: CoterieError | None = None,
    status: int = 200,
) -> Response:
    code_groups = [
        g
        for g, s in member_groups.list_settings(session, actor=op.actor)
        if s.join_policy == "code"
    ]
    context: dict[str, Any] = {
        "section": "campaigns",
        "draft": draft,
        "campaign": campaign,
        "status": None if campaign is None else campaigns.status(campaign),
        "groups": _all_groups(session, op),
        "code_groups": code_groups,
        "kinds": KIND_LABELS,
        "colors": STATUS_COLORS,
        "error": error,
        "field_errors": {e.field: e.message for e in getattr(error, "errors", [])},
        "can_write": op.actor.can_write,
        "tz": op.workspace.time_zone,
        "count": _count(session, op, draft),
    }
    return render(request, "campaigns/edit.html", context, status=status)


def _count(session: Session, op: Operator, draft: CampaignDraft) -> dict[str, Any]:
    """The live count, or why there is none."""
    if not draft.include:
        return {"value": None, "message": "Pick at least one group to send to."}
    try:
        wanted = audience.Audience(
            tuple(draft.group_ids("include")),
            tuple(draft.group_ids("exclude")),
            audience.parse_rule(draft.rule or None),
        )
        for name, chosen in (("include", wanted.include), ("exclude", wanted.exclude)):
            audience.check_groups(
                session, workspace_id=op.actor.workspace_id, group_ids=chosen, at=name
            )
        return {
            "value": audience.count(session, workspace_id=op.actor.workspace_id, audience=wanted),
            "message": "",
        }
    except Invalid as exc:
        return {"value": None, "message": exc.detail}


@router.get("")
def list_page(request: Request, session: SessionDep, op: OperatorDep) -> Response:
    found, _ = campaigns.list_campaigns(session, actor=op.actor, size=200)
    rows = []
    for campaign in found:
        included, excluded = campaigns.targets(session, campaign=campaign)
        rows.append(
            {
                "campaign": campaign,
                "status": campaigns.status(campaign),
                "included": len(included),
                "excluded": len(excluded),
            }
        )
    context = {
        "section": "campaigns",
        "rows": rows,
        "kinds": KIND_LABELS,
        "colors": STATUS_COLORS,
        "can_write": op.actor.can_write,
        "tz": op.workspace.time_zone,
    }
    return render(request, "campaigns/list.html", context)


@router.get("/new")
def new_page(request: Request, session: SessionDep, op: OperatorDep) -> Response:
    return _editor(request, session, op, CampaignDraft())


@router.post("/count", openapi_extra=roles.needs(Role.READ_ONLY))
def live_count(request: Request, session: SessionDep, op: OperatorDep, form: FormDep) -> Response:
    draft = CampaignDraft.read(form)
    return render(request, "campaigns/_count.html", {"count": _count(session, op, draft)})


def _save(
    request: Request, session: Session, op: Operator, form: Any, campaign: Campaign | None
) -> Response:
    draft = CampaignDraft.read(form)
    try:
        body = draft.body(op.workspace.time_zone)
        if campaign is None:
            saved = campaigns.create(session, actor=op.actor, data=CampaignCreate(**body))
        else:
            if campaign.launched_at is not None:
                body = {k: body[k] for k in ("name", "starts_at", "ends_at")}
            saved = campaigns.update(
                session, actor=op.actor, campaign_id=campaign.id, data=CampaignUpdate(**body)
            )
        session.commit()
    except ValidationError as exc:
        session.rollback()
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "name"
        problem = Invalid(f"{where}: {first['msg']}", field=where)
        return _editor(request, session, op, draft, campaign=campaign, error=problem, status=400)
    except CoterieError as exc:
        session.rollback()
        return _editor(request, session, op, draft, campaign=campaign, error=exc, status=exc.status)
    flash(request, f"Saved {saved.name}.")
    return redirect(f"/campaigns/{ids.encode(saved.id)}")


@router.post("/new")
def create(request: Request, session: SessionDep, op: OperatorDep, form: FormDep) -> Response:
    return _save(request, session, op, form, None)


@router.get("/{campaign_id}")
def edit_page(request: Request, session: SessionDep, op: OperatorDep, campaign_id: str) -> Response:
    campaign = _campaign(session, op, campaign_id)
    draft = _draft_of(session, campaign, op.workspace.time_zone)
    return _editor(request, session, op, draft, campaign=campaign)


@router.post("/{campaign_id}")
def update(
    request: Request, session: SessionDep, op: OperatorDep, form: FormDep, campaign_id: str
) -> Response:
    return _save(request, session, op, form, _campaign(session, op, campaign_id))


@router.post("/{campaign_id}/launch")
def launch(request: Request, session: SessionDep, op: OperatorDep, campaign_id: str) -> Response:
    campaign = campaigns.launch(
        session, actor=op.actor, campaign_id=ids.decode(campaign_id, what="campaign")
    )
    session.commit()
    flash(request, f"Launched {campaign.name}: {campaign.recipient_count:,} recipients, frozen.")
    return redirect(f"/campaigns/{campaign_id}/recipients", request)


@router.post("/{campaign_id}/end")
def end(request: Request, session: SessionDep, op: OperatorDep, campaign_id: str) -> Response:
    campaign = campaigns.end(
        session, actor=op.actor, campaign_id=ids.decode(campaign_id, what="campaign")
    )
    session.commit()
    flash(request, f"Ended {campaign.name}.")
    return redirect(f"/campaigns/{campaign_id}", request)


@router.post("/{campaign_id}/delete")
def delete(request: Request, session: SessionDep, op: OperatorDep, campaign_id: str) -> Response:
    campaign = _campaign(session, op, campaign_id)
    name = campaign.name
    campaigns.delete_campaign(session, actor=op.actor, campaign_id=campaign.id)
    session.commit()
    flash(request, f"Deleted {name}.")
    return redirect("/campaigns", request)


@router.get("/{campaign_id}/recipients")
def recipients(
    request: Request,
    session: SessionDep,
    op: OperatorDep,
    campaign_id: str,
    after: str | None = None,
) -> Response:
    campaign = _campaign(session, op, campaign_id)
    start = None if not after else ids.decode(after, what="person")
    found, more = audience.page(
        session,
        workspace_id=campaign.workspace_id,
        campaign_id=campaign.id,
        size=RECIPIENT_PAGE,
        after=start,
    )
    context = {
        "section": "campaigns",
        "campaign": campaign,
        "cid": campaign_id,
        "status": campaigns.status(campaign),
        "colors": STATUS_COLORS,
        "recipients": found,
        "next": None if more is None else ids.encode(more),
        "first_page": after is None,
        "tz": op.workspace.time_zone,
    }
    return render(request, "campaigns/recipients.html", context)


@router.get("/{campaign_id}/recipients.csv")
def recipients_csv(session: SessionDep, op: OperatorDep, campaign_id: str) -> StreamingResponse:
    campaign = _campaign(session, op, campaign_id)
    chunks = audience.export_csv(
        session, workspace_id=campaign.workspace_id, campaign_id=campaign.id
    )
    return StreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="recipients-{campaign_id}.csv"'},
    )
