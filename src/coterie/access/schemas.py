"""API shapes of resources, assignments and effective access."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from coterie.directory.schemas import PageLinks
from coterie.inputs import Input

KIND_PATTERN = r"^[a-z][a-z0-9_-]{0,39}$"
_FEATURE = Field(min_length=1, max_length=40)


class ResourceFields(Input):
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    features: list[str] | None = Field(
        None, max_length=20, description="feature badges shown on the resource's card"
    )


class ResourceCreate(ResourceFields):
    kind: str = Field(
        pattern=KIND_PATTERN,
        description="`bot`, `persona`, or any other kind by name (lower-case letters, digits)",
    )
    name: str = Field(min_length=1, max_length=200)


class ResourceUpdate(ResourceFields):
    """Only the fields present change; the kind is fixed when a resource is made."""


class ResourceRead(BaseModel):
    id: str
    kind: str
    name: str
    description: str
    features: list[str]
    created_at: datetime
    updated_at: datetime


class ResourcePage(BaseModel):
    items: list[ResourceRead]
    total: int | None
    size: int
    cursors: PageLinks


class AssignmentChange(Input):
    """Every resource given to (or taken from) every group: one pair or many at once."""

    group_ids: list[str] = Field(min_length=1, max_length=1000)
    resource_ids: list[str] = Field(min_length=1, max_length=1000)


class AssignmentResult(BaseModel):
    changed: int = Field(description="pairs assigned (or unassigned) by this call")
    unchanged: int = Field(description="pairs that already were (or were not)")


class GroupStep(BaseModel):
    id: str
    name: str


class Grant(BaseModel):
    resource: ResourceRead
    path: list[GroupStep] = Field(
        description="from the person's own group up to the group that has the resource"
    )
    via: str = Field(description="the path as text: 'Sales Team ← EMEA'")


class UserAccessRead(BaseModel):
    user_id: str
    active: bool = Field(description="deactivated people can use nothing")
    resources: list[Grant]


class AccessCheckRead(BaseModel):
    allowed: bool
    user_id: str
    resource_id: str
    path: list[GroupStep]
    via: str | None
    reason: str


class ResourceUserRead(BaseModel):
    id: str
    full_name: str
    email: str | None


class ResourceUserPage(BaseModel):
    items: list[ResourceUserRead]
    total: int | None
    size: int
    cursors: PageLinks


class GroupResourcesRead(BaseModel):
    group_id: str
    resources: list[ResourceRead]
