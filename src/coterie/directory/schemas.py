"""API shapes of the directory: `XCreate / XUpdate / XRead / XPage`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from coterie import ids
from coterie.inputs import Input, Label, Moment
from coterie.rules import FieldType

Channel = Literal["whatsapp", "instagram", "email", "phone", "sms"]
Source = Literal["internal", "import", "integration", "scim", "app"]
Status = Literal["active", "deactivated"]
RoleName = Literal["none", "identified_only", "read_only", "standard", "admin"]
TimelineKind = Literal["note", "ticket", "conversation"]


class _Input(Input):
    """Request bodies of this domain."""


class UserFields(_Input):
    full_name: str | None = Field(None, max_length=300)
    first_name: str | None = Field(None, max_length=150)
    last_name: str | None = Field(None, max_length=150)
    nicknames: list[Label] | None = Field(None, max_length=50)
    phone: str | None = None
    email: str | None = None
    whatsapp: str | None = None
    instagram: str | None = None
    external_id: str | None = Field(None, max_length=200)
    primary_channel: Channel | None = None
    source_ref: str | None = Field(None, max_length=300)
    last_activity_at: Moment | None = None
    attributes: dict[str, Any] | None = None
    role: RoleName | None = None
    password: str | None = Field(None, min_length=8, max_length=200)
    agent_id: str | None = Field(None, max_length=64)
    ring_phone: str | None = None
    scoring_enabled: bool | None = None
    roaming: bool | None = None
    status: Status | None = None

    @field_validator("nicknames")
    @classmethod
    def _clean_nicknames(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        return [n.strip() for n in value if n.strip()]


class UserCreate(UserFields):
    source: Source = "internal"


class UserUpdate(UserFields):
    """Only the fields present are changed; `null` clears a field."""


class UserRead(BaseModel):
    id: str
    full_name: str
    first_name: str | None
    last_name: str | None
    nicknames: list[str]
    phone: str | None
    email: str | None
    whatsapp: str | None
    instagram: str | None
    external_id: str | None
    primary_channel: str | None
    source: str
    source_ref: str | None
    last_activity_at: datetime | None
    attributes: dict[str, Any]
    role: str
    has_password: bool
    agent_id: str | None
    ring_phone: str | None
    scoring_enabled: bool
    roaming: bool
    status: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, user: Any) -> UserRead:
        return cls(
            id=ids.encode(user.id),
            has_password=user.password_hash is not None,
            **{
                name: getattr(user, name)
                for name in cls.model_fields
                if name not in ("id", "has_password")
            },
        )


class PageLinks(BaseModel):
    first: str
    prev: str | None
    next: str | None
    last: str


class UserPage(BaseModel):
    items: list[UserRead]
    total: int | None = Field(description="exact count; null when asked with total=false")
    size: int
    cursors: PageLinks


class FieldCreate(_Input):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="lower_snake_case key")
    label: str = Field(min_length=1, max_length=200)
    type: FieldType
    description: str = Field("", max_length=2000)
    options: list[Label] = Field(default_factory=list, max_length=500)


class FieldUpdate(_Input):
    label: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    options: list[Label] | None = Field(None, max_length=500)


class FieldRead(BaseModel):
    id: str
    key: str
    label: str
    type: str
    description: str
    options: list[str]


class FormCreate(_Input):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    fields: list[str] = Field(default_factory=list, description="field keys, in display order")


class FormUpdate(_Input):
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    fields: list[str] | None = None


class FormRead(BaseModel):
    id: str
    name: str
    description: str
    fields: list[FieldRead]


class TimelineCreate(_Input):
    kind: TimelineKind
    title: str = Field("", max_length=300)
    body: str = Field("", max_length=100_000)
    status: Literal["open", "pending", "closed"] | None = None
    channel: Channel | None = None
    occurred_at: Moment | None = None
    group_id: str | None = None


class TimelineUpdate(_Input):
    title: str | None = Field(None, max_length=300)
    body: str | None = Field(None, max_length=100_000)
    status: Literal["open", "pending", "closed"] | None = None


class TimelineRead(BaseModel):
    id: str
    user_id: str
    kind: str
    title: str
    body: str
    status: str | None
    channel: str | None
    author: str
    group_id: str | None
    file_name: str | None
    content_type: str | None
    file_size: int | None
    occurred_at: datetime
    created_at: datetime

    @classmethod
    def of(cls, entry: Any) -> TimelineRead:
        return cls(
            id=ids.encode(entry.id),
            user_id=ids.encode(entry.user_id),
            kind=entry.kind,
            title=entry.title,
            body=entry.body,
            status=entry.status,
            channel=entry.channel,
            author=entry.author_label,
            group_id=ids.encode(entry.group_id) if entry.group_id else None,
            file_name=entry.file_name,
            content_type=entry.content_type,
            file_size=entry.file_size,
            occurred_at=entry.occurred_at,
            created_at=entry.created_at,
        )


class SavedViewSave(Input):
    """What a saved view remembers; `filter` is the JSON rule tree, or None for everyone."""

    name: str = Field(min_length=1, max_length=100)
    filter: dict[str, Any] | None = None
    sort: str = Field("full_name", max_length=80)
    descending: bool = False
    columns: list[str] = Field(default_factory=list, max_length=50)
    page_size: int = 25
    is_default: bool = False
