"""Integrations (admins only): SCIM tokens for identity providers, and webhook endpoints with
their delivery logs and "redeliver"."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError

from coterie import ids
from coterie.access import roles
from coterie.access import scim as scim_tokens
from coterie.actor import Role
from coterie.errors import FieldError, Invalid
from coterie.events import webhooks
from coterie.events.outbox import EVENT_TYPES
from coterie.events.schemas import EndpointCreate, EndpointUpdate
from coterie.web.deps import (
    FormDep,
    OperatorDep,
    SessionDep,
    WebRoute,
    check_csrf,
    flash,
    redirect,
    render,
)

router = APIRouter(prefix="/integrations", route_class=WebRoute, dependencies=[Depends(check_csrf)])
ADMIN_ONLY = roles.needs(Role.ADMIN)


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _invalid(exc: ValidationError) -> Invalid:
    problems = [
        FieldError(
            ".".join(str(p) for p in e["loc"]) or "form", e["msg"].removeprefix("Value error, ")
        )
        for e in exc.errors()
    ]
    return Invalid(problems[0].message if problems else "invalid", errors=problems)


def _page(
    request: Request, session: Any, op: Any, *, secret: str | None = None, errors: Any = None
) -> Response:
    context = {
        "section": "integrations",
        "scim_url": str(request.base_url).rstrip("/") + "/scim/v2",
        "tokens": scim_tokens.list_tokens(session, actor=op.actor),
        "endpoints": webhooks.list_endpoints(session, actor=op.actor),
        "event_types": EVENT_TYPES,
        "new_secret": secret,
        "errors": errors or {},
    }
    return render(request, "integrations/index.html", context)


@router.get("", openapi_extra=ADMIN_ONLY)
def index(request: Request, session: SessionDep, op: OperatorDep) -> Response:
    return _page(request, session, op)


@router.post("/scim-tokens", openapi_extra=ADMIN_ONLY)
def create_scim_token(
    request: Request, session: SessionDep, op: OperatorDep, form: FormDep
) -> Response:
    _, secret = scim_tokens.create(session, actor=op.actor, name=_text(form, "name") or "SCIM")
    session.commit()
    return _page(request, session, op, secret=secret)


@router.post("/scim-tokens/{token_id}/revoke", openapi_extra=ADMIN_ONLY)
def revoke_scim_token(
    request: Request, session: SessionDep, op: OperatorDep, token_id: str
) -> Response:
    token = scim_tokens.revoke(session, actor=op.actor, token_id=ids.decode(token_id, what="token"))
    session.commit()
    flash(request, f"SCIM token {token.name} revoked: it can no longer provision.")
    return redirect("/integrations", request)


def _endpoint_values(form: Any) -> dict[str, Any]:
    chosen = [t for t in form.getlist("event_types") if t in EVENT_TYPES]
    return {
        "url": _text(form, "url"),
        "description": _text(form, "description"),
        "event_types": chosen,
        "active": form.get("active") == "on",
    }


@router.post("/webhooks", openapi_extra=ADMIN_ONLY)
def create_endpoint(
    request: Request, session: SessionDep, op: OperatorDep, form: FormDep
) -> Response:
    try:
        data = EndpointCreate(**_endpoint_values(form))
    except ValidationError as exc:
        raise _invalid(exc) from None
    endpoint = webhooks.create(session, actor=op.actor, data=data)
    session.commit()
    flash(request, "Webhook endpoint added. Its signing secret is below.")
    return redirect(f"/integrations/webhooks/{ids.encode(endpoint.id)}", request)


@router.get("/webhooks/{endpoint_id}", openapi_extra=ADMIN_ONLY)
def show_endpoint(
    request: Request, session: SessionDep, op: OperatorDep, endpoint_id: str
) -> Response:
    endpoint_key = ids.decode(endpoint_id, what="webhook")
    endpoint = webhooks.get(session, actor=op.actor, endpoint_id=endpoint_key)
    deliveries = webhooks.deliveries(session, actor=op.actor, endpoint_id=endpoint_key, limit=100)
    context = {
        "section": "integrations",
        "endpoint": endpoint,
        "deliveries": deliveries,
        "event_types": EVENT_TYPES,
        "tz": op.workspace.time_zone,
    }
    return render(request, "integrations/webhook.html", context)


@router.post("/webhooks/{endpoint_id}", openapi_extra=ADMIN_ONLY)
def update_endpoint(
    request: Request, session: SessionDep, op: OperatorDep, endpoint_id: str, form: FormDep
) -> Response:
    try:
        data = EndpointUpdate(**_endpoint_values(form))
    except ValidationError as exc:
        raise _invalid(exc) from None
    endpoint_key = ids.decode(endpoint_id, what="webhook")
    webhooks.update(session, actor=op.actor, endpoint_id=endpoint_key, data=data)
    session.commit()
    flash(request, "Webhook endpoint saved.")
    return redirect(f"/integrations/webhooks/{endpoint_id}", request)


@router.post("/webhooks/{endpoint_id}/delete", openapi_extra=ADMIN_ONLY)
def delete_endpoint(
    request: Request, session: SessionDep, op: OperatorDep, endpoint_id: str
) -> Response:
    webhooks.delete(session, actor=op.actor, endpoint_id=ids.decode(endpoint_id, what="webhook"))
    session.commit()
    flash(request, "Webhook endpoint deleted.")
    return redirect("/integrations", request)


@router.post("/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver", openapi_extra=ADMIN_ONLY)
def redeliver(
    request: Request, session: SessionDep, op: OperatorDep, endpoint_id: str, delivery_id: str
) -> Response:
    webhooks.redeliver(
        session,
        actor=op.actor,
        endpoint_id=ids.decode(endpoint_id, what="webhook"),
        delivery_id=ids.decode(delivery_id, what="delivery"),
    )
    session.commit()
    flash(request, "Queued again: the worker sends it shortly.")
    return redirect(f"/integrations/webhooks/{endpoint_id}", request)
