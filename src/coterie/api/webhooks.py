"""`/api/v1/webhooks` and `/api/v1/scim-tokens`: what admins set up for other systems."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from coterie import ids
from coterie.access import roles
from coterie.access import scim as scim_tokens
from coterie.actor import Role
from coterie.api.deps import ActorDep, SessionDep, decode_id
from coterie.events import webhooks
from coterie.events.schemas import DeliveryRead, EndpointCreate, EndpointRead, EndpointUpdate
from coterie.inputs import Input

router = APIRouter(tags=["webhooks and SCIM"])
ADMIN_ONLY = roles.needs(Role.ADMIN)


@router.get("/webhooks", response_model=list[EndpointRead], openapi_extra=ADMIN_ONLY)
def list_endpoints(session: SessionDep, actor: ActorDep) -> list[EndpointRead]:
    return [EndpointRead.of(e) for e in webhooks.list_endpoints(session, actor=actor)]


@router.post("/webhooks", response_model=EndpointRead, status_code=201, openapi_extra=ADMIN_ONLY)
def create_endpoint(session: SessionDep, actor: ActorDep, data: EndpointCreate) -> EndpointRead:
    endpoint = webhooks.create(session, actor=actor, data=data)
    session.commit()
    return EndpointRead.of(endpoint)


@router.get("/webhooks/{endpoint_id}", response_model=EndpointRead, openapi_extra=ADMIN_ONLY)
def get_endpoint(session: SessionDep, actor: ActorDep, endpoint_id: str) -> EndpointRead:
    found = webhooks.get(session, actor=actor, endpoint_id=decode_id(endpoint_id, "webhook"))
    return EndpointRead.of(found)


@router.patch("/webhooks/{endpoint_id}", response_model=EndpointRead, openapi_extra=ADMIN_ONLY)
def update_endpoint(
    session: SessionDep, actor: ActorDep, endpoint_id: str, data: EndpointUpdate
) -> EndpointRead:
    endpoint = webhooks.update(
        session, actor=actor, endpoint_id=decode_id(endpoint_id, "webhook"), data=data
    )
    session.commit()
    return EndpointRead.of(endpoint)


@router.delete("/webhooks/{endpoint_id}", status_code=204, openapi_extra=ADMIN_ONLY)
def delete_endpoint(session: SessionDep, actor: ActorDep, endpoint_id: str) -> Response:
    webhooks.delete(session, actor=actor, endpoint_id=decode_id(endpoint_id, "webhook"))
    session.commit()
    return Response(status_code=204)


@router.get(
    "/webhooks/{endpoint_id}/deliveries",
    response_model=list[DeliveryRead],
    openapi_extra=ADMIN_ONLY,
)
def list_deliveries(
    session: SessionDep,
    actor: ActorDep,
    endpoint_id: str,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[DeliveryRead]:
    rows = webhooks.deliveries(
        session, actor=actor, endpoint_id=decode_id(endpoint_id, "webhook"), limit=limit
    )
    return [_delivery_read(row) for row in rows]


@router.post(
    "/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver",
    response_model=DeliveryRead,
    status_code=201,
    openapi_extra=ADMIN_ONLY,
)
def redeliver(
    session: SessionDep, actor: ActorDep, endpoint_id: str, delivery_id: str
) -> DeliveryRead:
    again = webhooks.redeliver(
        session,
        actor=actor,
        endpoint_id=decode_id(endpoint_id, "webhook"),
        delivery_id=decode_id(delivery_id, "delivery"),
    )
    session.commit()
    (logged,) = webhooks.deliveries(
        session, actor=actor, endpoint_id=again.endpoint_id, delivery_id=again.id
    )
    return _delivery_read(logged)


def _delivery_read(row: webhooks.LoggedDelivery) -> DeliveryRead:
    d = row.delivery
    return DeliveryRead(
        id=ids.encode(d.id),
        event_id="msg_" + ids.encode(d.event_id),
        event_type=row.event_type,
        subject=row.subject,
        status=d.status,
        attempts=d.attempts,
        next_attempt_at=d.next_attempt_at if d.status == "pending" else None,
        last_attempt_at=d.last_attempt_at,
        response_status=d.response_status,
        error=d.error,
        created_at=d.created_at,
    )


class ScimTokenCreate(Input):
    name: str = Field(min_length=1, max_length=100)


class ScimTokenRead(BaseModel):
    id: str
    name: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


class ScimTokenCreated(ScimTokenRead):
    secret: str = Field(description="shown only once")


def _scim_read(token: scim_tokens.ScimToken) -> dict[str, object]:
    return {
        "id": ids.encode(token.id),
        "name": token.name,
        "created_by": token.created_by,
        "created_at": token.created_at,
        "revoked_at": token.revoked_at,
    }


@router.get("/scim-tokens", response_model=list[ScimTokenRead], openapi_extra=ADMIN_ONLY)
def list_scim_tokens(session: SessionDep, actor: ActorDep) -> list[ScimTokenRead]:
    found = scim_tokens.list_tokens(session, actor=actor)
    return [ScimTokenRead.model_validate(_scim_read(t)) for t in found]


@router.post(
    "/scim-tokens", response_model=ScimTokenCreated, status_code=201, openapi_extra=ADMIN_ONLY
)
def create_scim_token(
    session: SessionDep, actor: ActorDep, data: ScimTokenCreate
) -> ScimTokenCreated:
    token, secret = scim_tokens.create(session, actor=actor, name=data.name)
    session.commit()
    return ScimTokenCreated.model_validate({**_scim_read(token), "secret": secret})


@router.delete("/scim-tokens/{token_id}", status_code=204, openapi_extra=ADMIN_ONLY)
def revoke_scim_token(session: SessionDep, actor: ActorDep, token_id: str) -> Response:
    scim_tokens.revoke(session, actor=actor, token_id=decode_id(token_id, "SCIM token"))
    session.commit()
    return Response(status_code=204)
