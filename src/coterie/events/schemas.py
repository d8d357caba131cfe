"""API shapes of webhooks: endpoints and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from coterie import ids
from coterie.events.outbox import EVENT_TYPES, EventType
from coterie.inputs import Input


class _EndpointFields(Input):
    url: str | None = Field(None, min_length=1, max_length=2000)
    description: str | None = Field(None, max_length=300)
    event_types: list[EventType] | None = Field(
        None, max_length=len(EVENT_TYPES), description="the types to send; empty: all of them"
    )
    active: bool | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value


class EndpointCreate(_EndpointFields):
    url: str = Field(min_length=1, max_length=2000)
    secret: str | None = Field(
        None,
        pattern=r"^whsec_[A-Za-z0-9+/=]{16,88}$",
        description="whsec_ + base64 key; one is generated when absent",
    )


class EndpointUpdate(_EndpointFields):
    """Only the fields present are changed."""


class EndpointRead(BaseModel):
    id: str
    url: str
    description: str
    event_types: list[str]
    active: bool
    secret: str = Field(description="whsec_ + base64 of the signing key")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, endpoint: Any) -> EndpointRead:
        return cls(
            id=ids.encode(endpoint.id),
            url=endpoint.url,
            description=endpoint.description,
            event_types=list(endpoint.event_types),
            active=endpoint.active,
            secret=endpoint.secret,
            created_at=endpoint.created_at,
            updated_at=endpoint.updated_at,
        )


class DeliveryRead(BaseModel):
    id: str
    event_id: str
    event_type: str
    subject: str  # what the event is about: "Ada Lovelace", "VIP · rule", "people of an import"
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    response_status: int | None
    error: str
    created_at: datetime
