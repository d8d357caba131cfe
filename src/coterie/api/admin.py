"""`/api/v1/audit`, `/api/v1/tokens`, `/api/v1/workspace`: what admins see and manage."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from coterie import ids
from coterie.access import roles, tokens
from coterie.actor import Role
from coterie.api.deps import NO_NUL, ActorDep, SessionDep, decode_id
from coterie.events import service as audit
from coterie.inputs import Input
from coterie.workspaces import service as workspaces

router = APIRouter(tags=["administration"])


class AuditRead(BaseModel):
    id: str
    actor: str
    origin: str
    action: str
    target_type: str
    target_id: str | None
    target_label: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    created_at: datetime


class TokenCreate(Input):
    """Like every request body: NUL refused (PostgreSQL cannot store it), unknown keys refused."""

    name: str = Field(min_length=1, max_length=100)
    role: Role
    group_ids: list[str] = Field(
        default_factory=list, max_length=100, description="group scope; empty = whole workspace"
    )


class TokenRead(BaseModel):
    id: str
    name: str
    role: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None
    group_ids: list[str]


class TokenCreated(TokenRead):
    secret: str = Field(description="shown only once")


class WorkspaceRead(BaseModel):
    id: str
    slug: str
    name: str
    default_region: str
    time_zone: str
    hierarchy_depth: int
    upload_limit_bytes: int


ADMIN_ONLY = roles.needs(Role.ADMIN)


@router.get("/audit", response_model=list[AuditRead], openapi_extra=ADMIN_ONLY)
def list_audit(
    session: SessionDep,
    actor: ActorDep,
    target_type: Annotated[str | None, Query(max_length=32, pattern=NO_NUL)] = None,
    target_id: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AuditRead]:
    entries = audit.list_entries(
        session,
        actor=actor,
        target_type=target_type,
        target_id=decode_id(target_id, "record") if target_id else None,
        limit=limit,
    )
    return [
        AuditRead(
            id=ids.encode(e.id),
            actor=e.actor_label,
            origin=e.origin,
            action=e.action,
            target_type=e.target_type,
            target_id=ids.encode(e.target_id) if e.target_id else None,
            target_label=e.target_label,
            before=e.before,
            after=e.after,
            created_at=e.created_at,
        )
        for e in entries
    ]


def _token_read(session: Any, token: Any) -> dict[str, Any]:
    return {
        "group_ids": [ids.encode(g) for g in tokens.scope_of(session, token=token)],
        "id": ids.encode(token.id),
        "name": token.name,
        "role": token.role,
        "created_by": token.created_by,
        "created_at": token.created_at,
        "revoked_at": token.revoked_at,
    }


@router.get("/tokens", response_model=list[TokenRead], openapi_extra=ADMIN_ONLY)
def list_tokens(session: SessionDep, actor: ActorDep) -> list[TokenRead]:
    return [TokenRead(**_token_read(session, t)) for t in tokens.list_tokens(session, actor=actor)]


@router.post("/tokens", response_model=TokenCreated, status_code=201, openapi_extra=ADMIN_ONLY)
def create_token(session: SessionDep, actor: ActorDep, data: TokenCreate) -> TokenCreated:
    token, secret = tokens.create(
        session,
        actor=actor,
        name=data.name,
        role=data.role,
        group_ids=ids.decode_all(data.group_ids, what="group", at="group_ids"),
    )
    session.commit()
    return TokenCreated(**_token_read(session, token), secret=secret)


@router.delete("/tokens/{token_id}", status_code=204, openapi_extra=ADMIN_ONLY)
def revoke_token(session: SessionDep, actor: ActorDep, token_id: str) -> Response:
    tokens.revoke(session, actor=actor, token_id=decode_id(token_id, "token"))
    session.commit()
    return Response(status_code=204)


@router.get("/workspace", response_model=WorkspaceRead)
def get_workspace(session: SessionDep, actor: ActorDep) -> WorkspaceRead:
    w = workspaces.get(session, workspace_id=actor.workspace_id)
    return WorkspaceRead(
        id=ids.encode(w.id),
        slug=w.slug,
        name=w.name,
        default_region=w.default_region,
        time_zone=w.time_zone,
        hierarchy_depth=w.hierarchy_depth,
        upload_limit_bytes=w.upload_limit_bytes,
    )
