"""A code campaign's join codes in the admin UI: issue (shared or a batch), see each code's uses
and who redeemed it, revoke, and download a fresh batch as CSV.

Codes are stored only as hashes, so a code is readable once: on the page right after it is issued,
or in the CSV that issuing a batch returns.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from coterie import ids
from coterie.engagement import campaigns, codes
from coterie.engagement.models import Campaign, JoinCode
from coterie.engagement.schemas import JoinCodesIssue
from coterie.errors import CoterieError, Invalid
from coterie.groups.models import Group
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


def _page(
    request: Request,
    session: Session,
    op: Operator,
    campaign: Campaign,
    *,
    issued: list[tuple[JoinCode, str]] | None = None,
    error: CoterieError | None = None,
    status: int = 200,
) -> Response:
    found = codes.list_codes(session, actor=op.actor, campaign_id=campaign.id)
    uses = {
        code.id: codes.uses(session, actor=op.actor, campaign_id=campaign.id, code_id=code.id)
        for code in found
        if code.uses
    }
    group = (
        None
        if campaign.join_group_id is None
        else session.get(Group, (campaign.workspace_id, campaign.join_group_id))
    )
    context: dict[str, Any] = {
        "section": "campaigns",
        "campaign": campaign,
        "cid": ids.encode(campaign.id),
        "status": campaigns.status(campaign),
        "group": group,
        "codes": found,
        "uses": uses,
        "issued": issued or [],
        "error": error,
        "can_write": op.actor.can_write,
        "tz": op.workspace.time_zone,
    }
    return render(request, "campaigns/codes.html", context, status=status)


def _campaign(session: Session, op: Operator, campaign_id: str) -> Campaign:
    return campaigns.get(
        session, actor=op.actor, campaign_id=ids.decode(campaign_id, what="campaign")
    )


def _issue_input(form: Any) -> JoinCodesIssue:
    kind = str(form.get("kind", "single"))
    try:
        if kind == "shared":
            cap = str(form.get("max_uses", "")).strip()
            return JoinCodesIssue(kind="shared", max_uses=int(cap) if cap else None)
        return JoinCodesIssue(kind="single", count=int(str(form.get("count", "1")) or "1"))
    except (ValueError, ValidationError):
        field = "max_uses" if kind == "shared" else "count"
        limit = "at least 1" if kind == "shared" else "between 1 and 10,000"
        raise Invalid(f"Give a whole number {limit}", field=field) from None


@router.get("/{campaign_id}/codes")
def codes_page(
    request: Request, session: SessionDep, op: OperatorDep, campaign_id: str
) -> Response:
    return _page(request, session, op, _campaign(session, op, campaign_id))


@router.post("/{campaign_id}/codes")
def issue(
    request: Request, session: SessionDep, op: OperatorDep, form: FormDep, campaign_id: str
) -> Response:
    """Issue codes; `download` answers with the batch as CSV, else the page shows them once."""
    campaign = _campaign(session, op, campaign_id)
    try:
        made = codes.issue(
            session, actor=op.actor, campaign_id=campaign.id, data=_issue_input(form)
        )
        session.commit()
    except CoterieError as exc:
        session.rollback()
        return _page(request, session, op, campaign, error=exc, status=exc.status)
    if form.get("download"):
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(("code", "kind", "max_uses", "id"))
        for row, plain in made:
            writer.writerow((plain, row.kind, row.max_uses or "", ids.encode(row.id)))
        name = f"codes-{campaign_id}-{ids.encode(made[0][0].id)}.csv"
        return Response(
            buffer.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return _page(request, session, op, campaign, issued=made)


@router.post("/{campaign_id}/codes/{code_id}/revoke")
def revoke(
    request: Request, session: SessionDep, op: OperatorDep, campaign_id: str, code_id: str
) -> Response:
    code = codes.revoke(
        session,
        actor=op.actor,
        campaign_id=ids.decode(campaign_id, what="campaign"),
        code_id=ids.decode(code_id, what="join code"),
    )
    session.commit()
    flash(request, f"Revoked the code ending {code.hint}.")
    return redirect(f"/campaigns/{campaign_id}/codes", request)
