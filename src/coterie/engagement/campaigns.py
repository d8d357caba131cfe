"""Campaigns: an audience of groups (included minus excluded, narrowed by a rule), a window and a
lifecycle. Status is derived, never stale: draft until launched; then scheduled before the start,
active inside the window, ended after the stop (or when ended by hand).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from coterie import ids
from coterie.actor import Actor
from coterie.db import utcnow
from coterie.directory.service import require_write
from coterie.engagement import audience
from coterie.engagement.models import Campaign, CampaignGroup
from coterie.engagement.schemas import CampaignCreate, CampaignFields, CampaignUpdate
from coterie.errors import Conflict, Invalid, NotFound
from coterie.events import service as audit
from coterie.groups import service as groups
from coterie.rules import parse_tree, referenced_groups

_AUDITED = ("name", "kind", "rule", "starts_at", "ends_at", "join_group_id")


def status(campaign: Campaign, now: datetime | None = None) -> str:
    now = now or utcnow()
    if campaign.launched_at is None:
        return "draft"
    if campaign.ended_at is not None or (campaign.ends_at is not None and campaign.ends_at <= now):
        return "ended"
    if campaign.starts_at is not None and now < campaign.starts_at:
        return "scheduled"
    return "active"


def get(session: Session, *, actor: Actor, campaign_id: int) -> Campaign:
    groups.require_read(actor)
    campaign = session.get(Campaign, (actor.workspace_id, campaign_id))
    if campaign is None:
        raise NotFound(f"No campaign with id {ids.encode(campaign_id)}")
    return campaign


def targets(session: Session, *, campaign: Campaign) -> tuple[list[int], list[int]]:
    """(included, excluded) group ids."""
    stmt = select(CampaignGroup.group_id, CampaignGroup.excluded).where(
        CampaignGroup.workspace_id == campaign.workspace_id,
        CampaignGroup.campaign_id == campaign.id,
    )
    included: list[int] = []
    excluded: list[int] = []
    for group_id, is_excluded in session.execute(stmt):
        (excluded if is_excluded else included).append(group_id)
    return sorted(included), sorted(excluded)


def audience_of(session: Session, *, campaign: Campaign) -> audience.Audience:
    included, excluded = targets(session, campaign=campaign)
    return audience.Audience(tuple(included), tuple(excluded), campaign.rule)


def _snapshot(campaign: Campaign, included: list[int], excluded: list[int]) -> dict[str, Any]:
    values = {name: getattr(campaign, name) for name in _AUDITED}
    values["include_group_ids"] = [ids.encode(i) for i in included]
    values["exclude_group_ids"] = [ids.encode(i) for i in excluded]
    return values


def _decode(values: Sequence[str], at: str) -> list[int]:
    return list(dict.fromkeys(ids.decode_all(values, what="group", at=at)))


def _apply(
    session: Session, *, actor: Actor, campaign: Campaign, data: CampaignFields, creating: bool
) -> None:
    given = data.model_fields_set
    launched = campaign.launched_at is not None
    frozen = {"include_group_ids", "exclude_group_ids", "rule"} & given
    if launched and frozen:
        raise Conflict(
            f"{campaign.name} is launched: its audience is frozen", field=sorted(frozen)[0]
        )
    if "name" in given:
        if data.name is None:
            raise Invalid("A campaign needs a name", field="name")
        campaign.name = data.name
    if "kind" in given:
        if data.kind is None:
            raise Invalid("A campaign needs a type", field="kind")
        campaign.kind = data.kind
    if "rule" in given:
        campaign.rule = audience.parse_rule(data.rule)
    for name in ("starts_at", "ends_at"):
        if name in given:
            value = getattr(data, name)
            if value is not None and value.tzinfo is None:
                raise Invalid("Give a time zone (or Z for UTC)", field=name)
            setattr(campaign, name, value)
    if campaign.starts_at and campaign.ends_at and campaign.ends_at <= campaign.starts_at:
        raise Invalid("The stop time must be after the start time", field="ends_at")
    if "join_group_id" in given:
        join_group = None
        if data.join_group_id:
            join_group = _decode([data.join_group_id], "join_group_id")[0]
            audience.check_groups(
                session, workspace_id=actor.workspace_id, group_ids=[join_group], at="join_group"
            )
        campaign.join_group_id = join_group
    included, excluded = targets(session, campaign=campaign) if not creating else ([], [])
    if "include_group_ids" in given:
        included = _decode(data.include_group_ids or [], "include_group_ids")
        if not included:
            raise Invalid("Include at least one group", field="include_group_ids")
    if "exclude_group_ids" in given:
        excluded = _decode(data.exclude_group_ids or [], "exclude_group_ids")
    for at, chosen in (("include_group_ids", included), ("exclude_group_ids", excluded)):
        audience.check_groups(session, workspace_id=actor.workspace_id, group_ids=chosen, at=at)
    both = set(included) & set(excluded)
    if both:
        raise Invalid(
            f"Group {ids.encode(sorted(both)[0])} is both included and excluded",
            field="exclude_group_ids",
        )
    # Validates the rule and the groups together, as the count will run them.
    audience.where(
        session,
        workspace_id=actor.workspace_id,
        audience=audience.Audience(tuple(included), tuple(excluded), campaign.rule),
    )
    if frozen or creating:
        session.flush()
        session.execute(
            delete(CampaignGroup).where(
                CampaignGroup.workspace_id == campaign.workspace_id,
                CampaignGroup.campaign_id == campaign.id,
            )
        )
        for group_id, is_excluded in [(g, False) for g in included] + [(g, True) for g in excluded]:
            session.add(
                CampaignGroup(
                    workspace_id=campaign.workspace_id,
                    campaign_id=campaign.id,
                    group_id=group_id,
                    excluded=is_excluded,
                )
            )


def create(session: Session, *, actor: Actor, data: CampaignCreate) -> Campaign:
    require_write(actor)
    campaign = Campaign(
        workspace_id=actor.workspace_id,
        id=ids.new_id(),
        name=data.name,
        kind=data.kind,
        recipient_count=0,
        created_by_label=actor.label[:200],
    )
    session.add(campaign)
    _apply(session, actor=actor, campaign=campaign, data=data, creating=True)
    session.flush()
    included, excluded = targets(session, campaign=campaign)
    audit.record(
        session,
        actor=actor,
        action="campaign.created",
        target_type="campaign",
        target_id=campaign.id,
        target_label=campaign.name,
        after=_snapshot(campaign, included, excluded),
    )
    return campaign


def update(session: Session, *, actor: Actor, campaign_id: int, data: CampaignUpdate) -> Campaign:
    require_write(actor)
    campaign = get(session, actor=actor, campaign_id=campaign_id)
    before = _snapshot(campaign, *targets(session, campaign=campaign))
    _apply(session, actor=actor, campaign=campaign, data=data, creating=False)
    campaign.updated_at = utcnow()
    session.flush()
    audit.record_update(
        session,
        actor=actor,
        action="campaign.updated",
        target_type="campaign",
        target_id=campaign.id,
        target_label=campaign.name,
        before=before,
        after=_snapshot(campaign, *targets(session, campaign=campaign)),
    )
    return campaign


def launch(session: Session, *, actor: Actor, campaign_id: int) -> Campaign:
    """Freeze the audience as the recipient list; from now on the campaign is not a draft."""
    require_write(actor)
    campaign = get(session, actor=actor, campaign_id=campaign_id)
    # Claim the launch first, conditionally: of concurrent launches one updates the row and the
    # others (queued on its row lock, or on SQLite's single writer) find it launched.
    now = utcnow()
    claimed = session.scalar(
        sa.update(Campaign)
        .where(
            Campaign.workspace_id == campaign.workspace_id,
            Campaign.id == campaign.id,
            Campaign.launched_at.is_(None),
        )
        .values(launched_at=now)
        .returning(Campaign.id)
        .execution_options(synchronize_session=False)
    )
    if claimed is None:
        raise Conflict(f"{campaign.name} is already launched", field="campaign_id")
    found = audience.freeze(
        session,
        workspace_id=campaign.workspace_id,
        campaign_id=campaign.id,
        audience=audience_of(session, campaign=campaign),
    )
    campaign.launched_at, campaign.recipient_count = now, found
    audit.record(
        session,
        actor=actor,
        action="campaign.launched",
        target_type="campaign",
        target_id=campaign.id,
        target_label=campaign.name,
        after={"recipients": found},
    )
    audit.emit(
        session,
        workspace_id=campaign.workspace_id,
        event_type="campaign.launched",
        data={
            "actor": actor.label,
            "campaign": {"id": ids.encode(campaign.id), "name": campaign.name},
            "kind": campaign.kind,
            "recipients": found,
        },
    )
    session.flush()
    return campaign


def end(session: Session, *, actor: Actor, campaign_id: int) -> Campaign:
    """End a launched campaign now: its codes stop working."""
    require_write(actor)
    campaign = get(session, actor=actor, campaign_id=campaign_id)
    if campaign.launched_at is None:
        raise Conflict(f"{campaign.name} is a draft: launch it or delete it", field="campaign_id")
    if campaign.ended_at is None:
        campaign.ended_at = utcnow()
        audit.record(
            session,
            actor=actor,
            action="campaign.ended",
            target_type="campaign",
            target_id=campaign.id,
            target_label=campaign.name,
        )
    session.flush()
    return campaign


def delete_campaign(session: Session, *, actor: Actor, campaign_id: int) -> None:
    require_write(actor)
    campaign = get(session, actor=actor, campaign_id=campaign_id)
    audit.record(
        session,
        actor=actor,
        action="campaign.deleted",
        target_type="campaign",
        target_id=campaign.id,
        target_label=campaign.name,
        before=_snapshot(campaign, *targets(session, campaign=campaign)),
    )
    session.delete(campaign)
    session.flush()


def list_campaigns(
    session: Session, *, actor: Actor, size: int = 50, after: tuple[datetime, int] | None = None
) -> tuple[list[Campaign], tuple[datetime, int] | None]:
    """Newest first, in keyset pages of (created_at, id)."""
    groups.require_read(actor)
    stmt = select(Campaign).where(Campaign.workspace_id == actor.workspace_id)
    if after is not None:
        created_at, campaign_id = after
        stmt = stmt.where(
            (Campaign.created_at < created_at)
            | ((Campaign.created_at == created_at) & (Campaign.id < campaign_id))
        )
    stmt = stmt.order_by(Campaign.created_at.desc(), Campaign.id.desc()).limit(size + 1)
    found = list(session.scalars(stmt))
    more = len(found) > size
    found = found[:size]
    return found, ((found[-1].created_at, found[-1].id) if more and found else None)


def referencing(session: Session, workspace_id: int, group_id: int) -> list[tuple[str, int, str]]:
    """The campaigns that include, exclude, issue codes for, or name in their rule (`member_of`)
    a group: for group deletion."""
    linked = select(CampaignGroup.campaign_id).where(
        CampaignGroup.workspace_id == workspace_id, CampaignGroup.group_id == group_id
    )
    mine = Campaign.workspace_id == workspace_id
    direct = select(Campaign.id, Campaign.name).where(
        mine, Campaign.id.in_(linked) | (Campaign.join_group_id == group_id)
    )
    found = {row.id: row.name for row in session.execute(direct)}
    wanted = ids.encode(group_id)
    ruled = select(Campaign.id, Campaign.name, Campaign.rule).where(
        mine, Campaign.rule.is_not(None)
    )
    for row in session.execute(ruled):  # JSON null is not SQL NULL: some have no rule still
        if row.rule and wanted in referenced_groups(parse_tree(row.rule, at="rule")):
            found[row.id] = row.name
    return [("campaign", i, name) for i, name in sorted(found.items(), key=lambda f: f[1])]
