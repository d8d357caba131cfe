"""Join codes: format, issuing, redemption and its one refusal message, usage and revoking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from coterie.actor import Actor
from coterie.engagement import campaigns, codes, member_groups
from coterie.engagement.models import Campaign
from coterie.engagement.schemas import CampaignUpdate, JoinCodesIssue
from coterie.errors import Conflict, Invalid
from coterie.events.models import AuditEntry
from coterie.groups import service as groups
from coterie.groups.models import Group
from coterie.groups.schemas import GroupCreate
from tests.conftest import make_user
from tests.engagement.conftest import code_campaign, issue, member_group


def _setup(session: Session, admin: Actor) -> tuple[Group, Campaign]:
    private = member_group(session, admin, "Insiders", join_policy="code")
    everyone = groups.create(session, actor=admin, data=GroupCreate(name="Everyone"))
    return private, code_campaign(session, admin, private, everyone)


def test_codes_are_long_unambiguous_and_case_insensitive() -> None:
    made = {codes.generate() for _ in range(200)}
    assert len(made) == 200
    for code in made:
        assert len(code) == 12
        assert not set(code) & set("01OILU")
    shown = codes.shown("ABCD2345EFGH")
    assert shown == "ABCD-2345-EFGH"
    assert codes.normalize(" abcd-2345 efgh ") == "ABCD2345EFGH"
    assert codes.normalize("ABCD2345EFG") is None
    assert codes.normalize("ABCD2345EFG0") is None


def test_single_use_code_joins_once_with_source_code(session: Session, admin: Actor) -> None:
    private, campaign = _setup(session, admin)
    [code] = issue(session, admin, campaign, "single")
    first, second = make_user(session, admin), make_user(session, admin)
    shown = codes.redeem(session, member=first, code=code.lower().replace("-", " "))
    assert shown.group.id == private.id
    assert shown.joined
    entry = session.scalars(
        select(AuditEntry).where(
            AuditEntry.workspace_id == admin.workspace_id,
            AuditEntry.action == "group.members_added",
        )
    ).one()
    assert entry.after is not None
    assert entry.after["reason"] == "code"
    with pytest.raises(codes.CodeRefused) as caught:
        codes.redeem(session, member=second, code=code)
    assert caught.value.detail == codes.REFUSED
    [row] = codes.list_codes(session, actor=admin, campaign_id=campaign.id)
    assert row.uses == 1
    used = codes.uses(session, actor=admin, campaign_id=campaign.id, code_id=row.id)
    assert [u[0] for u in used] == [first.id]


def test_every_unusable_code_gets_the_same_message(session: Session, admin: Actor) -> None:
    _private, campaign = _setup(session, admin)
    revoked, capped = issue(session, admin, campaign, "single", count=2)
    rows = codes.list_codes(session, actor=admin, campaign_id=campaign.id)
    target = next(r for r in rows if capped.replace("-", "").endswith(r.hint))
    other = next(r for r in rows if r is not target)
    codes.revoke(session, actor=admin, campaign_id=campaign.id, code_id=other.id)
    person = make_user(session, admin)
    messages = set()
    for attempt in ("nonsense", "ABCD-EFGH-JKMN", revoked):
        with pytest.raises(codes.CodeRefused) as caught:
            codes.redeem(session, member=person, code=attempt)
        messages.add(caught.value.detail)
    # An ended campaign's codes stop working too.
    campaigns.end(session, actor=admin, campaign_id=campaign.id)
    with pytest.raises(codes.CodeRefused) as caught:
        codes.redeem(session, member=person, code=capped)
    messages.add(caught.value.detail)
    assert messages == {codes.REFUSED}


def test_codes_need_a_launched_campaign_inside_its_window(session: Session, admin: Actor) -> None:
    private = member_group(session, admin, "Insiders", join_policy="code")
    everyone = groups.create(session, actor=admin, data=GroupCreate(name="Everyone"))
    draft = code_campaign(session, admin, private, everyone, launch=False)
    [code] = issue(session, admin, draft, "single")
    person = make_user(session, admin)
    with pytest.raises(codes.CodeRefused):
        codes.redeem(session, member=person, code=code)
    later = datetime.now(UTC) + timedelta(days=2)
    campaigns.update(
        session,
        actor=admin,
        campaign_id=draft.id,
        data=CampaignUpdate(starts_at=later, ends_at=later + timedelta(days=1)),
    )
    campaigns.launch(session, actor=admin, campaign_id=draft.id)
    assert campaigns.status(draft) == "scheduled"
    with pytest.raises(codes.CodeRefused):
        codes.redeem(session, member=person, code=code)


def test_shared_code_with_a_cap_and_no_double_use(session: Session, admin: Actor) -> None:
    _private, campaign = _setup(session, admin)
    [code] = issue(session, admin, campaign, "shared", max_uses=2)
    a, b, c = (make_user(session, admin) for _ in range(3))
    codes.redeem(session, member=a, code=code)
    # Refused, and rolled back as the adapter does: the use is given back.
    with pytest.raises(Conflict, match="already in Insiders"), session.begin_nested():
        codes.redeem(session, member=a, code=code)
    codes.redeem(session, member=b, code=code)
    with pytest.raises(codes.CodeRefused):
        codes.redeem(session, member=c, code=code)


def test_issuing_needs_a_code_group(session: Session, admin: Actor) -> None:
    open_group = member_group(session, admin, "Open")
    everyone = groups.create(session, actor=admin, data=GroupCreate(name="Everyone"))
    campaign = code_campaign(session, admin, open_group, everyone)
    with pytest.raises(Invalid) as caught:
        codes.issue(
            session, actor=admin, campaign_id=campaign.id, data=JoinCodesIssue(kind="single")
        )
    assert caught.value.errors[0].field == "join_group_id"
    member_groups.find(session, workspace_id=admin.workspace_id, group_id=open_group.id)
