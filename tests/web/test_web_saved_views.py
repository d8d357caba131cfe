"""Saved views in the browser: save the table's state, make it the default, reset to it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.web.conftest import Site, people_now

pytestmark = pytest.mark.browser
Shot = Callable[..., None]


def settled(page: Any) -> None:
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )


def click_and_wait(page: Any, selector: str) -> None:
    with page.expect_response(lambda r: urlsplit(r.url).path == "/users"):
        page.click(selector)
    settled(page)


def state(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def test_save_default_and_reset(page: Any, site: Site, shot: Shot) -> None:
    page.goto(f"{site.url}/users")
    page.click("[data-filter-add]")
    row = page.locator("[data-filter-row]").last
    row.locator("[data-part=field]").select_option("attributes.vip")
    row.locator("[data-part=op]").select_option("eq")
    row.locator("[data-part=value] select").select_option("true")
    click_and_wait(page, "#apply-filter")
    click_and_wait(page, "a.sort-link[data-sort=last_activity_at]")
    click_and_wait(page, "a[data-size='10']")
    vip_count = page.locator("#results-count strong").inner_text()

    page.click("#save-view")
    page.locator("#save-view-modal.show").wait_for()
    page.fill("#view-name", "VIPs by activity")
    page.check("#view-default")
    shot(page, "40-save-view", full=False)
    with page.expect_navigation():
        page.click("#save-view-submit")
    assert page.locator("#current-view-name").inner_text() == "VIPs by activity"
    assert "Saved the view" in page.locator("#flash-area").inner_text()

    # Opening All Users now opens the default view.
    page.goto(f"{site.url}/users")
    assert page.locator("#current-view-name").inner_text() == "VIPs by activity"
    assert page.locator("#results-count strong").inner_text() == vip_count
    assert json.loads(state(page)["filter"][0]) == {
        "all": [{"field": "attributes.vip", "op": "eq", "value": True}]
    }
    assert state(page)["sort"] == ["last_activity_at"]
    assert state(page)["size"] == ["10"]
    # The builder shows the saved condition again.
    assert page.locator("[data-filter-row] [data-part=field]").input_value() == "attributes.vip"

    # Change things, then reset to the default.
    click_and_wait(page, "a.sort-link[data-sort=full_name]")
    assert page.locator("#current-view-name").inner_text() == "Unsaved changes"
    page.click("#reset-view")
    page.wait_for_url("**/users?**sort=last_activity_at**")
    assert page.locator("#current-view-name").inner_text() == "VIPs by activity"

    # A second view, picked from the dropdown.
    page.goto(f"{site.url}/users?sort=source&order=desc&size=50")
    page.click("#save-view")
    page.locator("#save-view-modal.show").wait_for()
    page.fill("#view-name", "By source")
    with page.expect_navigation():
        page.click("#save-view-submit")
    page.goto(f"{site.url}/users")  # the default is still the VIP view
    assert page.locator("#current-view-name").inner_text() == "VIPs by activity"
    page.click("#view-picker")
    shot(page, "41-view-picker", full=False)
    page.locator(".view-link", has_text="By source").click()
    page.wait_for_url("**/users?**sort=source**")
    assert page.locator("#current-view-name").inner_text() == "By source"
    assert page.locator("#users-table tbody tr").count() == 50

    # No default any more: All Users opens with everyone.
    page.click("#view-picker")
    page.locator(".view-menu button", has_text="Open with everyone").click()
    page.wait_for_url(f"{site.url}/users")
    assert page.locator("#results-count strong").inner_text() == str(people_now(site))
