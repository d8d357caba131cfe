"""API shapes of groups: `GroupCreate / GroupUpdate / GroupRead / GroupPage` and rule previews."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from coterie.directory.schemas import PageLinks, UserRead
from coterie.inputs import Input, Label, Moment

Selection = Literal["manual", "rule"]
Behaviour = Literal["static", "dynamic"]
Status = Literal["active", "inactive"]
GroupSource = Literal["manual", "import", "scim", "api"]
MembershipSource = Literal["manual", "rule", "import", "code", "self", "scim"]
RuleInput = dict[str, Any] | str | None


class _Input(Input):
    """Request bodies of this domain."""


class GroupFields(_Input):
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)
    tags: list[Label] | None = Field(None, max_length=50)
    status: Status | None = None
    attributes: dict[str, str] | None = Field(None, max_length=100)
    form_ids: list[str] | None = Field(None, max_length=20, description="attached forms, in order")
    include: RuleInput = Field(
        None, description="rule groups: who is in (SCIM filter text or the JSON rule tree)"
    )
    exclude: RuleInput = Field(None, description="rule groups: who is left out, even if included")
    excluded_user_ids: list[str] | None = Field(
        None, max_length=1000, description="rule groups: people left out by name"
    )
    billing_email: str | None = Field(
        None, max_length=320, description="level-1 groups only: who receives the invoices"
    )
    billing_plan: str | None = Field(None, max_length=100, description="level-1 groups only")
    billing_seats: int | None = Field(
        None, ge=0, le=10_000_000, description="level-1 groups only: seats paid for"
    )


class GroupCreate(GroupFields):
    name: str = Field(min_length=1, max_length=200)
    parent_id: str | None = Field(
        None,
        max_length=40,
        description="make it a subgroup of this group (move it later with "
        "`POST /groups/{id}/move`)",
    )
    selection: Selection = "manual"
    behaviour: Behaviour | None = Field(None, description="rule groups only; default dynamic")
    source: GroupSource = "api"
    source_ref: str | None = Field(None, max_length=300)


class GroupUpdate(GroupFields):
    """Only the fields present change; selection and behaviour are fixed when a group is made."""


class GroupRead(BaseModel):
    id: str
    name: str
    description: str
    tags: list[str]
    status: str
    attributes: dict[str, Any]
    source: str
    source_ref: str | None
    selection: str
    behaviour: str | None
    include: dict[str, Any] | None
    exclude: dict[str, Any] | None
    include_text: str | None = Field(description="the include rule as SCIM filter text")
    exclude_text: str | None
    excluded_user_ids: list[str]
    form_ids: list[str]
    member_count: int
    parent_id: str | None = Field(description="None for a level-1 (billing-level) group")
    subtree_member_count: int = Field(
        description="distinct people in the group and all its subgroups"
    )
    billing_email: str | None
    billing_plan: str | None
    billing_seats: int | None
    evaluated_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime


class GroupPage(BaseModel):
    items: list[GroupRead]
    total: int | None
    size: int
    cursors: PageLinks


class MemberChange(_Input):
    user_ids: list[str] = Field(min_length=1, max_length=10_000)
    expires_at: Moment | None = Field(None, description="when the membership ends by itself")


class MemberChangeResult(BaseModel):
    changed: int = Field(description="people added (or removed) by this call")
    unchanged: int = Field(description="people already in (or already out of) the group")
    member_count: int


class MembershipRead(BaseModel):
    group_id: str
    group_name: str
    selection: str
    behaviour: str | None
    source: str
    added_by: str
    added_at: datetime
    expires_at: datetime | None


class RulePreviewInput(_Input):
    include: RuleInput = None
    exclude: RuleInput = None
    excluded_user_ids: list[str] = Field(default_factory=list, max_length=1000)
    group_id: str | None = Field(None, description="compare with this group's members")
    sample_size: int = Field(10, ge=0, le=50)


class RulePreview(BaseModel):
    count: int = Field(description="people the rule selects now")
    sample: list[UserRead]
    would_add: int | None = Field(description="for an existing group: people not yet in it")
    would_remove: int | None = Field(description="for an existing group: members it would drop")
    add_sample: list[UserRead]
    remove_sample: list[UserRead]


class ExplainRead(BaseModel):
    member: bool = Field(description="whether the rule selects the person now")
    is_member: bool = Field(description="whether the person is in the group now")
    include: dict[str, Any] | None
    exclude: dict[str, Any] | None
    excluded_by_name: bool


class EvaluationRead(BaseModel):
    added: int
    removed: int
    member_count: int
    evaluated_at: datetime
