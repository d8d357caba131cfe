"""Integrations in the browser: an admin makes a SCIM token that provisions, revokes it, adds a
webhook endpoint, reads its delivery log and redelivers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx2
import pytest
from sqlalchemy import select

from coterie import db
from coterie.actor import system
from coterie.directory.schemas import UserCreate
from coterie.events import delivery
from coterie.events.models import Delivery
from coterie.groups import people
from coterie.workspaces import service as workspaces
from tests.web.conftest import Site

pytestmark = pytest.mark.browser
Shot = Callable[..., None]


def test_a_scim_token_made_in_the_ui_provisions_until_revoked(
    page: Any, site: Site, shot: Shot
) -> None:
    page.goto(f"{site.url}/users")
    page.click("#nav-integrations")
    page.wait_for_url(f"{site.url}/integrations")
    page.fill("#scim-token-name", "Okta")
    with page.expect_navigation():
        page.click("#create-scim-token")
    secret = page.locator("#scim-secret code").inner_text().strip()
    assert secret.startswith("scim_")
    shot(page, "70-integrations-scim-token")
    base = page.locator("#scim-url").input_value()
    assert base == f"{site.url}/scim/v2"
    headers = {"Authorization": f"Bearer {secret}"}
    with httpx2.Client(base_url=base, headers=headers) as scim:
        made = scim.post("/Users", json={"userName": "okta.person", "displayName": "Okta Person"})
        assert made.status_code == 201, made.text
        assert scim.delete(f"/Users/{made.json()['id']}").status_code == 204
        row = page.locator("#scim-tokens tr", has_text="Okta")
        page.on("dialog", lambda dialog: dialog.accept())
        with page.expect_navigation():
            row.locator("button", has_text="Revoke").click()
        assert "revoked" in page.locator("#flash-area").inner_text()
        assert scim.get("/Users").status_code == 401


def test_webhook_endpoint_delivery_log_and_redeliver(page: Any, site: Site, shot: Shot) -> None:
    page.goto(f"{site.url}/integrations")
    page.fill("#webhook-url", "https://hooks.example.com/coterie")
    page.fill("#webhook-description", "CRM sync")
    page.check("input[name=event_types][value='membership.added']")
    page.check("input[name=event_types][value='person.created']")
    with page.expect_navigation():
        page.click("#add-webhook")
    assert page.locator("#webhook-secret").input_value().startswith("whsec_")
    assert page.locator("#no-deliveries").is_visible()
    endpoint_url = page.url

    answers = iter([delivery.Response(500, "down"), delivery.Response(200, "ok")])

    def send(_url: str, _body: bytes, _headers: dict[str, str]) -> delivery.Response:
        return next(answers, delivery.Response(200, "ok"))

    with db.get_sessionmaker()() as session:  # a change the endpoint hears about
        workspace = workspaces.find_by_slug(session, slug=site.slug)
        assert workspace is not None
        people.create(
            session,
            actor=system(workspace.id),
            data=UserCreate(full_name="Hook Person", email="hook.person@example.com"),
        )
        session.commit()
    first = delivery.deliver_due(db.get_sessionmaker(), send=send)
    assert first is not None
    delivery.deliver_due(db.get_sessionmaker(), now=first, send=send)
    page.goto(endpoint_url)
    row = page.locator("#deliveries tbody tr").first
    assert "person.created" in row.inner_text()
    assert row.locator(".delivery-subject").inner_text() == "Hook Person"
    assert "Delivered" in row.inner_text()
    shot(page, "71-webhook-deliveries")
    with page.expect_navigation():
        row.locator("button", has_text="Redeliver").click()
    assert "Queued again" in page.locator("#flash-area").inner_text()
    with db.get_sessionmaker()() as session:
        statuses = session.scalars(select(Delivery.status).order_by(Delivery.created_at)).all()
    assert statuses[-1] == "pending"
    page.uncheck("#webhook-edit input[name=active]")
    with page.expect_navigation():
        page.click("#save-webhook")
    assert "Webhook endpoint saved" in page.locator("#flash-area").inner_text()
    assert not page.locator("#webhook-edit input[name=active]").is_checked()


def test_only_admins_see_integrations(browser: Any, site: Site) -> None:
    context = browser.new_context()
    tab = context.new_page()
    tab.goto(f"{site.url}/login")
    tab.fill("#workspace", site.slug)
    tab.fill("#email", site.reader_email)
    tab.fill("#password", site.password)
    tab.click("button[type=submit]")
    tab.wait_for_url(f"{site.url}/users**")
    assert tab.locator("#nav-integrations").count() == 0
    answer = tab.goto(f"{site.url}/integrations")
    assert answer is not None
    assert answer.status == 403
    context.close()
