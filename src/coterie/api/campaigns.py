"""`/api/v1/campaigns`: campaigns, their live audience count, launch, recipients and join codes."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from coterie import ids
from coterie.access import roles
from coterie.actor import Role
from coterie.api.deps import ActorDep, SessionDep, decode_id
from coterie.api.users import csv_response
from coterie.engagement import audience, campaigns, codes
from coterie.engagement.models import Campaign, JoinCode
from coterie.engagement.schemas import (
    AudienceCount,
    AudiencePreviewInput,
    CampaignCreate,
    CampaignPage,
    CampaignRead,
    CampaignUpdate,
    JoinCodeIssued,
    JoinCodePage,
    JoinCodeRead,
    JoinCodesIssue,
    JoinCodesIssued,
    JoinCodeUseRead,
    JoinCodeUses,
    RecipientPage,
    RecipientRead,
)
from coterie.errors import Invalid
from coterie.groups import service as groups
from coterie.pagination import Cursor

router = APIRouter(prefix="/campaigns", tags=["campaigns"])


def campaign_read(session: Session, campaign: Campaign) -> CampaignRead:
    included, excluded = campaigns.targets(session, campaign=campaign)
    return CampaignRead(
        id=ids.encode(campaign.id),
        name=campaign.name,
        kind=campaign.kind,
        status=campaigns.status(campaign),
        include_group_ids=[ids.encode(i) for i in included],
        exclude_group_ids=[ids.encode(i) for i in excluded],
        rule=campaign.rule,
        starts_at=campaign.starts_at,
        ends_at=campaign.ends_at,
        join_group_id=None
        if campaign.join_group_id is None
        else ids.encode(campaign.join_group_id),
        launched_at=campaign.launched_at,
        recipient_count=campaign.recipient_count,
        created_by=campaign.created_by_label,
        created_at=campaign.created_at,
        updated_at=campaign.updated_at,
    )


def _id(value: str) -> int:
    return decode_id(value, "campaign")


@router.get("", response_model=CampaignPage)
def list_campaigns(
    session: SessionDep,
    actor: ActorDep,
    size: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> CampaignPage:
    after = None
    if cursor:
        decoded = Cursor.decode(cursor)
        if not isinstance(decoded.value, datetime) or decoded.row_id is None:
            raise Invalid("The page cursor is malformed or expired", field="cursor")
        after = (decoded.value, decoded.row_id)
    found, more = campaigns.list_campaigns(session, actor=actor, size=size, after=after)
    following = None if more is None else Cursor("next", more[0], more[1], "created_at").encode()
    return CampaignPage(items=[campaign_read(session, c) for c in found], next=following)


@router.post("", response_model=CampaignRead, status_code=201)
def create_campaign(session: SessionDep, actor: ActorDep, data: CampaignCreate) -> CampaignRead:
    campaign = campaigns.create(session, actor=actor, data=data)
    session.commit()
    return campaign_read(session, campaign)


@router.post("/audience", response_model=AudienceCount, openapi_extra=roles.needs(Role.READ_ONLY))
def preview_audience(
    session: SessionDep, actor: ActorDep, data: AudiencePreviewInput
) -> AudienceCount:
    """The live count while a campaign is edited: nothing is saved."""
    groups.require_read(actor)
    included = ids.decode_all(data.include_group_ids, what="group", at="include_group_ids")
    excluded = ids.decode_all(data.exclude_group_ids, what="group", at="exclude_group_ids")
    for at, chosen in (("include_group_ids", included), ("exclude_group_ids", excluded)):
        audience.check_groups(session, workspace_id=actor.workspace_id, group_ids=chosen, at=at)
    wanted = audience.Audience(tuple(included), tuple(excluded), audience.parse_rule(data.rule))
    return AudienceCount(
        count=audience.count(session, workspace_id=actor.workspace_id, audience=wanted)
    )


@router.get("/{campaign_id}", response_model=CampaignRead)
def get_campaign(session: SessionDep, actor: ActorDep, campaign_id: str) -> CampaignRead:
    return campaign_read(session, campaigns.get(session, actor=actor, campaign_id=_id(campaign_id)))


@router.patch("/{campaign_id}", response_model=CampaignRead)
def update_campaign(
    session: SessionDep, actor: ActorDep, campaign_id: str, data: CampaignUpdate
) -> CampaignRead:
    campaign = campaigns.update(session, actor=actor, campaign_id=_id(campaign_id), data=data)
    session.commit()
    return campaign_read(session, campaign)


@router.delete("/{campaign_id}", status_code=204)
def delete_campaign(session: SessionDep, actor: ActorDep, campaign_id: str) -> Response:
    campaigns.delete_campaign(session, actor=actor, campaign_id=_id(campaign_id))
    session.commit()
    return Response(status_code=204)


@router.get("/{campaign_id}/audience", response_model=AudienceCount)
def campaign_audience(session: SessionDep, actor: ActorDep, campaign_id: str) -> AudienceCount:
    """The audience now (for a launched campaign, the frozen list is `recipient_count`)."""
    campaign = campaigns.get(session, actor=actor, campaign_id=_id(campaign_id))
    wanted = campaigns.audience_of(session, campaign=campaign)
    return AudienceCount(
        count=audience.count(session, workspace_id=actor.workspace_id, audience=wanted)
    )


@router.post("/{campaign_id}/launch", response_model=CampaignRead)
def launch_campaign(session: SessionDep, actor: ActorDep, campaign_id: str) -> CampaignRead:
    """Freeze the recipient list now."""
    campaign = campaigns.launch(session, actor=actor, campaign_id=_id(campaign_id))
    session.commit()
    return campaign_read(session, campaign)


@router.post("/{campaign_id}/end", response_model=CampaignRead)
def end_campaign(session: SessionDep, actor: ActorDep, campaign_id: str) -> CampaignRead:
    campaign = campaigns.end(session, actor=actor, campaign_id=_id(campaign_id))
    session.commit()
    return campaign_read(session, campaign)


@router.get("/{campaign_id}/recipients", response_model=RecipientPage)
def list_recipients(
    session: SessionDep,
    actor: ActorDep,
    campaign_id: str,
    size: Annotated[int, Query(ge=1, le=200)] = 50,
    after: Annotated[str | None, Query(max_length=13, description="the `next` of a page")] = None,
) -> RecipientPage:
    """The frozen recipients in pages by person id (keyset: constant time at any depth)."""
    campaign = campaigns.get(session, actor=actor, campaign_id=_id(campaign_id))
    start = None if after is None else ids.decode_all([after], what="person", at="after")[0]
    found, more = audience.page(
        session, workspace_id=campaign.workspace_id, campaign_id=campaign.id, size=size, after=start
    )
    items = [
        RecipientRead(
            user_id=ids.encode(r.user_id),
            full_name=r.full_name,
            email=r.email,
            phone=r.phone,
            active=r.active,
        )
        for r in found
    ]
    following = None if more is None else ids.encode(more)
    return RecipientPage(items=items, total=campaign.recipient_count, next=following)


@router.get("/{campaign_id}/recipients.csv", response_class=StreamingResponse)
def export_recipients(session: SessionDep, actor: ActorDep, campaign_id: str) -> StreamingResponse:
    campaign = campaigns.get(session, actor=actor, campaign_id=_id(campaign_id))
    chunks = audience.export_csv(
        session, workspace_id=campaign.workspace_id, campaign_id=campaign.id
    )
    return csv_response(chunks, filename=f"campaign-{ids.encode(campaign.id)}-recipients.csv")


def code_read(code: JoinCode) -> JoinCodeRead:
    return JoinCodeRead(
        id=ids.encode(code.id),
        kind=code.kind,
        hint=code.hint,
        max_uses=code.max_uses,
        uses=code.uses,
        created_at=code.created_at,
        revoked_at=code.revoked_at,
    )


@router.post("/{campaign_id}/codes", response_model=JoinCodesIssued, status_code=201)
def issue_codes(
    session: SessionDep, actor: ActorDep, campaign_id: str, data: JoinCodesIssue
) -> JoinCodesIssued:
    """Issue a shared code or a batch of single-use codes; the codes are in this answer only."""
    made = codes.issue(session, actor=actor, campaign_id=_id(campaign_id), data=data)
    session.commit()
    items = [JoinCodeIssued(code=plain, **code_read(row).model_dump()) for row, plain in made]
    return JoinCodesIssued(items=items)


def issued_csv(made: list[tuple[JoinCode, str]]) -> Iterator[str]:
    """Issued codes as CSV (for SMS, email or print runs); codes never start with a formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(("code", "kind", "max_uses", "id"))
    for row, plain in made:
        writer.writerow((plain, row.kind, row.max_uses or "", ids.encode(row.id)))
    yield buffer.getvalue()


@router.post("/{campaign_id}/codes.csv", response_class=StreamingResponse, status_code=201)
def issue_codes_csv(
    session: SessionDep, actor: ActorDep, campaign_id: str, data: JoinCodesIssue
) -> StreamingResponse:
    """Issue codes and get them as a CSV file (the only time they can be read)."""
    made = codes.issue(session, actor=actor, campaign_id=_id(campaign_id), data=data)
    session.commit()
    response = csv_response(issued_csv(made), filename=f"codes-{ids.encode(made[0][0].id)}.csv")
    response.status_code = 201
    return response


@router.get("/{campaign_id}/codes", response_model=JoinCodePage)
def list_codes(session: SessionDep, actor: ActorDep, campaign_id: str) -> JoinCodePage:
    found = codes.list_codes(session, actor=actor, campaign_id=_id(campaign_id))
    return JoinCodePage(items=[code_read(c) for c in found])


@router.get("/{campaign_id}/codes/{code_id}/uses", response_model=JoinCodeUses)
def code_uses(session: SessionDep, actor: ActorDep, campaign_id: str, code_id: str) -> JoinCodeUses:
    """Who redeemed the code and when."""
    found = codes.uses(
        session, actor=actor, campaign_id=_id(campaign_id), code_id=decode_id(code_id, "join code")
    )
    items = [JoinCodeUseRead(user_id=ids.encode(u), full_name=n, used_at=t) for u, n, t in found]
    return JoinCodeUses(items=items)


@router.post("/{campaign_id}/codes/{code_id}/revoke", response_model=JoinCodeRead)
def revoke_code(
    session: SessionDep, actor: ActorDep, campaign_id: str, code_id: str
) -> JoinCodeRead:
    code = codes.revoke(
        session, actor=actor, campaign_id=_id(campaign_id), code_id=decode_id(code_id, "join code")
    )
    session.commit()
    return code_read(code)
