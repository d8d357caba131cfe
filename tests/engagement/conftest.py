"""Builders for member groups, members with tokens, and code campaigns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from coterie import ids
from coterie.actor import Actor
from coterie.engagement import campaigns, codes, member_groups
from coterie.engagement.models import Campaign
from coterie.engagement.schemas import CampaignCreate, JoinCodesIssue, MemberGroupUpdate
from coterie.groups import service as groups
from coterie.groups.models import Group
from coterie.groups.schemas import GroupCreate


def member_group(session: Session, actor: Actor, name: str, **settings: Any) -> Group:
    group = groups.create(session, actor=actor, data=GroupCreate(name=name))
    values = {"join_policy": "open", "user_viewable": True, **settings}
    member_groups.update(session, actor=actor, group_id=group.id, data=MemberGroupUpdate(**values))
    return group


def code_campaign(
    session: Session, actor: Actor, target: Group, audience: Group, *, launch: bool = True
) -> Campaign:
    """A launched campaign, open for a day, whose codes join `target`."""
    now = datetime.now(UTC)
    campaign = campaigns.create(
        session,
        actor=actor,
        data=CampaignCreate(
            name=f"Codes for {target.name}",
            kind="coupon",
            include_group_ids=[ids.encode(audience.id)],
            join_group_id=ids.encode(target.id),
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=1),
        ),
    )
    if launch:
        campaigns.launch(session, actor=actor, campaign_id=campaign.id)
    return campaign


def issue(
    session: Session, actor: Actor, campaign: Campaign, kind: str, **fields: Any
) -> list[str]:
    made = codes.issue(
        session,
        actor=actor,
        campaign_id=campaign.id,
        data=JoinCodesIssue(kind=kind, **fields),  # type: ignore[arg-type]
    )
    return [plain for _, plain in made]
