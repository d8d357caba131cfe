"""Campaigns: the audience rule, derived status, freezing at launch, and the groups they name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coterie import ids
from coterie.actor import Actor
from coterie.directory import service as users
from coterie.directory.schemas import UserUpdate
from coterie.engagement import audience, campaigns
from coterie.engagement.models import RecipientChunk
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


def test_recipients_stored_in_chunks_page_and_export_across_them(
    session: Session, admin: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chunks of 4 and reads of 2 chunks at a time, so 11 recipients cross every boundary.
    monkeypatch.setattr(audience, "CHUNK", 4)
    monkeypatch.setattr(audience, "_CHUNKS_READ", 2)
    people = [make_user(session, admin, full_name=f"P{i}").id for i in range(14)]
    a = _group(session, admin, "A", people[:10])
    b = _group(session, admin, "B", people[8:13])
    x = _group(session, admin, "X", [people[0], people[12]])
    campaign = campaigns.create(
        session,
        actor=admin,
        data=CampaignCreate(
            name="C",
            include_group_ids=[ids.encode(a), ids.encode(b)],
            exclude_group_ids=[ids.encode(x)],
        ),
    )
    campaigns.launch(session, actor=admin, campaign_id=campaign.id)
    expected = sorted(people[1:12])
    assert campaign.recipient_count == 11
    ws = admin.workspace_id
    chunks = session.execute(
        select(RecipientChunk.last_user_id, RecipientChunk.size, RecipientChunk.user_ids)
        .where(RecipientChunk.workspace_id == ws, RecipientChunk.campaign_id == campaign.id)
        .order_by(RecipientChunk.last_user_id)
    ).all()
    assert [(c.last_user_id, c.size) for c in chunks] == [
        (expected[3], 4),
        (expected[7], 4),
        (expected[10], 3),
    ]
    assert [sorted(c.user_ids) for c in chunks] == [expected[:4], expected[4:8], expected[8:]]
    for size in (1, 3, 4, 5, 11, 200):
        seen: list[int] = []
        after: int | None = None
        while True:
            found, after = audience.page(
                session, workspace_id=ws, campaign_id=campaign.id, size=size, after=after
            )
            assert len(found) <= size
            seen += [r.user_id for r in found]
            if after is None:
                break
        assert seen == expected, size
    # Paging from an id that is not a recipient starts at the next one.
    found, _ = audience.page(
        session, workspace_id=ws, campaign_id=campaign.id, size=2, after=expected[5] + 1
    )
    assert [r.user_id for r in found] == [i for i in expected if i > expected[5] + 1][:2]
    # Later changes to people show, marked, without changing the list.
    users.update(session, actor=admin, user_id=expected[2], data=UserUpdate(status="deactivated"))
    users.delete(session, actor=admin, user_id=expected[5])
    found, _ = audience.page(session, workspace_id=ws, campaign_id=campaign.id, size=20, after=None)
    assert [r.user_id for r in found] == expected
    marks = {r.user_id: (r.status, r.full_name) for r in found}
    assert marks[expected[2]][0] == "deactivated"
    assert marks[expected[5]] == (None, "(deleted)")
    lines = "".join(audience.export_csv(session, workspace_id=ws, campaign_id=campaign.id))
    rows = lines.splitlines()
    assert rows[0] == ",".join(audience.CSV_COLUMNS)
    assert [r.split(",")[0] for r in rows[1:]] == [ids.encode(i) for i in expected]
    assert rows[1 + 5].endswith(",deleted")
    # The chunks go with the campaign.
    campaigns.delete_campaign(session, actor=admin, campaign_id=campaign.id)
    left = select(func.count()).where(RecipientChunk.campaign_id == campaign.id)
    assert session.scalar(left) == 0


def test_an_empty_audience_launches_with_no_recipients(session: Session, admin: Actor) -> None:
    a = _group(session, admin, "Nobody", [])
    campaign = campaigns.create(
        session, actor=admin, data=CampaignCreate(name="C", include_group_ids=[ids.encode(a)])
    )
    campaigns.launch(session, actor=admin, campaign_id=campaign.id)
    assert campaign.recipient_count == 0
    found, after = audience.page(
        session, workspace_id=admin.workspace_id, campaign_id=campaign.id, size=5, after=None
    )
    assert (found, after) == ([], None)
