"""Campaigns: the audience rule, derived status, freezing at launch, and the groups they name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from coterie import ids
from coterie.actor import Actor
from coterie.directory import service as users
from coterie.directory.schemas import UserUpdate
from coterie.engagement import audience, campaigns
from coterie.engagement.schemas import CampaignCreate, CampaignUpdate
from coterie.errors import Conflict, Invalid
from coterie.events.models import OutboxEvent
from coterie.groups import service as groups
from coterie.groups.schemas import GroupCreate
from tests.conftest import make_user
from tests.engagement.conftest import member_group


def _group(session: Session, admin: Actor, name: str, people: list[int]) -> int:
    group = groups.create(session, actor=admin, data=GroupCreate(name=name))
    if people:
        groups.add_members(session, actor=admin, group_id=group.id, user_ids=people)
    return group.id


def test_audience_is_included_minus_excluded_narrowed_by_the_rule(
    session: Session, admin: Actor
) -> None:
    people = [make_user(session, admin, full_name=f"P{i}").id for i in range(6)]
    a = _group(session, admin, "A", people[:4])
    b = _group(session, admin, "B", people[3:5])
    x = _group(session, admin, "X", [people[0], people[4]])
    ws = admin.workspace_id
    assert audience.count(session, workspace_id=ws, audience=audience.Audience((a, b))) == 5
    assert audience.count(session, workspace_id=ws, audience=audience.Audience((a, b), (x,))) == 3
    narrowed = audience.Audience((a, b), (x,), audience.parse_rule('full_name eq "P1"'))
    assert audience.count(session, workspace_id=ws, audience=narrowed) == 1
    users.update(session, actor=admin, user_id=people[1], data=UserUpdate(status="deactivated"))
    assert audience.count(session, workspace_id=ws, audience=audience.Audience((a, b), (x,))) == 2


def test_status_follows_launch_and_window(session: Session, admin: Actor) -> None:
    a = _group(session, admin, "A", [])
    now = datetime.now(UTC)
    campaign = campaigns.create(
        session,
        actor=admin,
        data=CampaignCreate(
            name="Later",
            include_group_ids=[ids.encode(a)],
            starts_at=now + timedelta(days=1),
            ends_at=now + timedelta(days=2),
        ),
    )
    assert campaigns.status(campaign) == "draft"
    campaigns.launch(session, actor=admin, campaign_id=campaign.id)
    assert campaigns.status(campaign) == "scheduled"
    assert campaigns.status(campaign, now + timedelta(days=1, hours=1)) == "active"
    assert campaigns.status(campaign, now + timedelta(days=3)) == "ended"
    with pytest.raises(Conflict):
        campaigns.launch(session, actor=admin, campaign_id=campaign.id)
    campaigns.end(session, actor=admin, campaign_id=campaign.id)
    assert campaigns.status(campaign, now + timedelta(days=1, hours=1)) == "ended"


def test_launch_freezes_the_list(session: Session, admin: Actor) -> None:
    people = [make_user(session, admin).id for _ in range(3)]
    a = _group(session, admin, "A", people[:2])
    campaign = campaigns.create(
        session, actor=admin, data=CampaignCreate(name="C", include_group_ids=[ids.encode(a)])
    )
    campaigns.launch(session, actor=admin, campaign_id=campaign.id)
    groups.add_members(session, actor=admin, group_id=a, user_ids=[people[2]])
    found, more = audience.page(
        session, workspace_id=admin.workspace_id, campaign_id=campaign.id, size=1, after=None
    )
    rest, last = audience.page(
        session, workspace_id=admin.workspace_id, campaign_id=campaign.id, size=5, after=more
    )
    assert last is None
    assert sorted(r.user_id for r in found + rest) == sorted(people[:2])
    assert campaign.recipient_count == 2
    with pytest.raises(Conflict):
        campaigns.update(
            session, actor=admin, campaign_id=campaign.id, data=CampaignUpdate(rule="status pr")
        )
    campaigns.delete_campaign(session, actor=admin, campaign_id=campaign.id)
    left, _ = audience.page(
        session, workspace_id=admin.workspace_id, campaign_id=campaign.id, size=5, after=None
    )
    assert left == []


def test_groups_a_campaign_names_cannot_be_deleted(session: Session, admin: Actor) -> None:
    a, x = _group(session, admin, "Audience", []), _group(session, admin, "Out", [])
    joined = member_group(session, admin, "Club", join_policy="code")
    unused = _group(session, admin, "Unused", [])
    campaigns.create(
        session,
        actor=admin,
        data=CampaignCreate(
            name="Winter",
            include_group_ids=[ids.encode(a)],
            exclude_group_ids=[ids.encode(x)],
            join_group_id=ids.encode(joined.id),
        ),
    )
    named = _group(session, admin, "Named in a rule", [])
    spring = campaigns.create(
        session,
        actor=admin,
        data=CampaignCreate(
            name="Spring",
            include_group_ids=[ids.encode(unused)],
            rule=f'member_of eq "{ids.encode(named)}"',
        ),
    )
    for group_id in (a, x, joined.id):
        with pytest.raises(Conflict, match="campaign Winter"):
            groups.delete_group(session, actor=admin, group_id=group_id)
    with pytest.raises(Conflict, match="campaign Spring"):
        groups.delete_group(session, actor=admin, group_id=named)
    campaigns.update(
        session,
        actor=admin,
        campaign_id=spring.id,
        data=CampaignUpdate(include_group_ids=[ids.encode(a)], rule=None),
    )
    groups.delete_group(session, actor=admin, group_id=unused)


def test_bad_campaigns_name_the_field(session: Session, admin: Actor) -> None:
    a = _group(session, admin, "A", [])
    cases = {
        "include_group_ids": {"include_group_ids": []},
        "exclude_group_ids": {
            "include_group_ids": [ids.encode(a)],
            "exclude_group_ids": [ids.encode(a)],
        },
        "rule": {"include_group_ids": [ids.encode(a)], "rule": "nosuch eq 1"},
        "ends_at": {
            "include_group_ids": [ids.encode(a)],
            "starts_at": datetime.now(UTC),
            "ends_at": datetime.now(UTC) - timedelta(hours=1),
        },
    }
    for field, body in cases.items():
        # Unchecked by the schema, as a caller bypassing it would send it: the service checks too.
        data = CampaignCreate.model_construct(name="Bad", kind="sms", **body)
        with pytest.raises(Invalid) as caught:
            campaigns.create(session, actor=admin, data=data)
        assert caught.value.errors[0].field.startswith(field)


def test_launch_writes_the_webhook_event(session: Session, admin: Actor) -> None:
    people = [make_user(session, admin).id for _ in range(2)]
    a = _group(session, admin, "A", people)
    campaign = campaigns.create(
        session, actor=admin, data=CampaignCreate(name="Spring", include_group_ids=[ids.encode(a)])
    )
    launched = select(OutboxEvent).where(
        OutboxEvent.workspace_id == admin.workspace_id, OutboxEvent.type == "campaign.launched"
    )
    assert session.scalars(launched).all() == []
    campaigns.launch(session, actor=admin, campaign_id=campaign.id)
    [event] = session.scalars(launched).all()
    assert event.data["campaign"] == {"id": ids.encode(campaign.id), "name": "Spring"}
    assert event.data["recipients"] == 2
