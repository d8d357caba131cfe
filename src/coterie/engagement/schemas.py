"""API shapes of the member app (member groups, tokens, codes) and of campaigns."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from coterie.inputs import Input, Moment

JoinPolicy = Literal["closed", "open", "code"]
CampaignKind = Literal["sms", "email", "push", "whatsapp", "coupon", "game", "other"]
CAMPAIGN_KIND_VALUES: tuple[str, ...] = CampaignKind.__args__  # type: ignore[attr-defined]
CampaignStatus = Literal["draft", "scheduled", "active", "ended"]
RuleInput = dict[str, Any] | str | None


class MemberGroupUpdate(Input):
    """Only the fields present change; a group gets member settings the first time."""

    join_policy: JoinPolicy | None = None
    user_viewable: bool | None = None
    app_description: str | None = Field(None, max_length=2000)
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    display_order: int | None = Field(None, ge=-1_000_000, le=1_000_000)


class MemberGroupRead(BaseModel):
    """A group's member settings, as admins see them."""

    group_id: str
    name: str
    join_policy: str
    user_viewable: bool
    app_description: str
    starts_at: datetime | None
    ends_at: datetime | None
    display_order: int
    member_count: int


class MemberGroupView(BaseModel):
    """A group as a member sees it in the app."""

    id: str
    name: str
    description: str
    join_policy: str
    joined: bool
    can_leave: bool
    ends_at: datetime | None


class MemberGroupsView(BaseModel):
    items: list[MemberGroupView]


class MemberGroupsSet(Input):
    """Support flow: the member groups a person should be in (others of theirs are left)."""

    group_ids: list[str] = Field(max_length=500)


class MemberTokenCreate(Input):
    expires_at: Moment | None = None


class MemberTokenCreated(BaseModel):
    id: str
    user_id: str
    token: str = Field(description="shown this once; the member app sends it as a bearer token")
    expires_at: datetime | None


class RedeemInput(Input):
    code: str = Field(min_length=1, max_length=64)


class RedeemResult(BaseModel):
    group: MemberGroupView


class JoinCodesIssue(Input):
    kind: Literal["shared", "single"]
    count: int = Field(1, ge=1, le=10_000, description="single-use codes: how many")
    max_uses: int | None = Field(None, ge=1, le=10_000_000, description="shared code: cap")


class JoinCodeRead(BaseModel):
    id: str
    kind: str
    hint: str = Field(description="the code's last four characters")
    max_uses: int | None
    uses: int
    created_at: datetime
    revoked_at: datetime | None


class JoinCodeIssued(JoinCodeRead):
    code: str = Field(description="shown this once: only a hash is stored")


class JoinCodesIssued(BaseModel):
    items: list[JoinCodeIssued]


class JoinCodePage(BaseModel):
    items: list[JoinCodeRead]


class JoinCodeUseRead(BaseModel):
    user_id: str
    full_name: str
    used_at: datetime


class JoinCodeUses(BaseModel):
    items: list[JoinCodeUseRead]


class CampaignFields(Input):
    name: str | None = Field(None, min_length=1, max_length=200)
    kind: CampaignKind | None = None
    include_group_ids: list[str] | None = Field(None, max_length=100)
    exclude_group_ids: list[str] | None = Field(None, max_length=100)
    rule: RuleInput = Field(None, description="narrows the audience (SCIM text or JSON tree)")
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    join_group_id: str | None = Field(None, description="code campaigns: the group codes join")


class CampaignCreate(CampaignFields):
    name: str = Field(min_length=1, max_length=200)
    kind: CampaignKind = "other"
    include_group_ids: list[str] = Field(min_length=1, max_length=100)


class CampaignUpdate(CampaignFields):
    """Only the fields present change; a launched campaign's audience is frozen."""


class AudiencePreviewInput(Input):
    include_group_ids: list[str] = Field(max_length=100)
    exclude_group_ids: list[str] = Field(default_factory=list, max_length=100)
    rule: RuleInput = None


class AudienceCount(BaseModel):
    count: int


class CampaignRead(BaseModel):
    id: str
    name: str
    kind: str
    status: CampaignStatus
    include_group_ids: list[str]
    exclude_group_ids: list[str]
    rule: dict[str, Any] | None
    starts_at: datetime | None
    ends_at: datetime | None
    join_group_id: str | None
    launched_at: datetime | None
    recipient_count: int
    created_by: str
    created_at: datetime
    updated_at: datetime


class CampaignPage(BaseModel):
    items: list[CampaignRead]
    next: str | None


class RecipientRead(BaseModel):
    user_id: str
    full_name: str
    email: str | None
    phone: str | None
    active: bool = Field(description="false when the person was deactivated (or deleted) later")


class RecipientPage(BaseModel):
    items: list[RecipientRead]
    total: int
    next: str | None
