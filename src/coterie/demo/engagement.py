"""The demo's member app: groups members join (open and with a code) and two campaigns."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy.orm import Session

from coterie import ids
from coterie.actor import Actor
from coterie.db import utcnow
from coterie.engagement import campaigns, codes, member_groups
from coterie.engagement.schemas import CampaignCreate, JoinCodesIssue, MemberGroupUpdate
from coterie.groups import service as groups
from coterie.groups.schemas import GroupCreate

_GROUPS = (
    # name, policy, shown, description, members' share (self-joined)
    ("Running club", "open", True, "Sunday 5k runs around the park; all paces welcome.", 0.06),
    ("Book circle", "open", True, "One book a month, talked over online.", 0.04),
    ("Early access", "code", True, "Try new features first. Join with your invite code.", 0.0),
    ("Staff perks", "closed", False, "Discounts for our own team.", 0.0),
)


def seed_engagement(session: Session, *, author: Actor, people: list[int]) -> int:
    """Member groups (some people already self-joined) and a launched campaign of each kind."""
    rng = random.Random(len(people) + 7)
    made: dict[str, int] = {}
    for order, (name, policy, shown, text, share) in enumerate(_GROUPS, start=1):
        group = groups.create(session, actor=author, data=GroupCreate(name=name, tags=["app"]))
        settings = MemberGroupUpdate(
            join_policy=policy,
            user_viewable=shown,
            app_description=text,
            display_order=order,
        )
        member_groups.update(session, actor=author, group_id=group.id, data=settings)
        joined = rng.sample(people, round(len(people) * share)) if people else []
        if joined:
            groups.add_members(
                session, actor=author, group_id=group.id, user_ids=joined, source="self"
            )
        made[name] = group.id
    now = utcnow()
    challenge = campaigns.create(
        session,
        actor=author,
        data=CampaignCreate(
            name="Spring run challenge",
            kind="push",
            include_group_ids=[ids.encode(made["Running club"]), ids.encode(made["Book circle"])],
            exclude_group_ids=[ids.encode(made["Staff perks"])],
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=30),
        ),
    )
    campaigns.launch(session, actor=author, campaign_id=challenge.id)
    invites = campaigns.create(
        session,
        actor=author,
        data=CampaignCreate(
            name="Early access invites",
            kind="sms",
            include_group_ids=[ids.encode(made["Running club"])],
            join_group_id=ids.encode(made["Early access"]),
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=60),
        ),
    )
    campaigns.launch(session, actor=author, campaign_id=invites.id)
    for data in (
        JoinCodesIssue(kind="shared", max_uses=100),
        JoinCodesIssue(kind="single", count=20),
    ):
        codes.issue(session, actor=author, campaign_id=invites.id, data=data)
    return len(made)
