"""Signing in through the browser: a wrong password is refused, the right one opens All Users."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.web.conftest import VIEWPORT, Site

pytestmark = pytest.mark.browser


def test_wrong_password_then_right_one(browser: Any, site: Site, shot: Callable[[Any, str], None]) -> None:
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
    assert page.locator("#results-count").inner_text().startswith(f"{site.people} people")
    assert page.locator("#users-table tbody tr").count() == 25
    shot(page, "03-all-users")

    page.click("button[title='Sign out']")
    page.wait_for_url(f"{site.url}/login")
    assert "signed out" in page.content()
    context.close()
