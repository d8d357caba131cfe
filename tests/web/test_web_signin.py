"""Signing in through the browser: a wrong password is refused, the right one opens All Users."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.web.conftest import VIEWPORT, Site, people_now, sign_in

pytestmark = pytest.mark.browser


def test_wrong_password_then_right_one(browser: Any, site: Site, shot: Callable[..., None]) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.goto(f"{site.url}/users")
    page.wait_for_url(f"{site.url}/login")
    shot(page, "01-login")

    page.fill("#workspace", site.slug)
    page.fill("#email", site.admin_email)
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    error = page.locator("#login-error")
    error.wait_for()
    assert "not right" in error.inner_text()
    assert page.input_value("#email") == site.admin_email
    shot(page, "02-login-wrong-password")

    page.fill("#password", site.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.url}/users")
    assert page.locator("h2.page-title").inner_text() == "All Users"
    assert page.locator("#results-count").inner_text().startswith(f"{people_now(site)} people")
    assert page.locator("#users-table tbody tr").count() == 25
    shot(page, "03-all-users")

    page.click("button[title='Sign out']")
    page.wait_for_url(f"{site.url}/login")
    assert "signed out" in page.content()
    context.close()


def test_read_only_operator_sees_a_banner(
    browser: Any, site: Site, shot: Callable[..., None]
) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    sign_in(page, site, site.reader_email)
    assert "Read only" in page.locator(".sidebar-footer").inner_text()
    page.goto(f"{site.url}/users/new")
    page.fill("#full_name", "Not Allowed")
    page.locator("[data-contact-row] input").first.fill("+1 415 555 2999")
    page.click("#save-user")
    # The role is checked before the route runs (coterie.access.roles): a refusal page.
    refusal = page.locator(".error-card")
    refusal.wait_for()
    assert "read_only role cannot change data" in refusal.inner_text()
    shot(page, "04-read-only-banner")

    page.goto(f"{site.url}/users/zzzzzzzzzzzzz")
    assert "No person with id" in page.locator(".error-card").inner_text()
    shot(page, "05-not-found")
    context.close()
