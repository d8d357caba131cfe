"""Create user in the browser: a bad phone number explained then fixed, and choosing groups."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import Site

pytestmark = pytest.mark.browser
Shot = Callable[..., None]


def contact_row(page: Any, kind: str) -> Any:
    return page.locator("[data-contact-row]", has=page.locator(f"option[value={kind}]:checked"))


def test_create_user_with_a_bad_phone_then_fixed(page: Any, site: Site, shot: Shot) -> None:
    page.goto(f"{site.url}/users")
    page.click("#create-user")
    page.wait_for_url(f"{site.url}/users/new")
    page.fill("#first_name", "Grace")
    page.fill("#last_name", "Hopper")
    page.click("[data-add-row=nickname]")
    page.locator("input[name=nickname]").last.fill("Amazing Grace")
    contact_row(page, "phone").locator("input").fill("12345")
    contact_row(page, "email").locator("input").fill("grace@navy.mil")
    page.click("[data-add-row=contact]")  # the next free kind: WhatsApp
    contact_row(page, "whatsapp").locator("input").fill("+44 7911 123999")
    page.select_option("#primary_channel", "whatsapp")
    page.fill("[name='attr.score']", "88")
    shot(page, "20-create-user")
    page.click("#save-user")

    page.wait_for_selector("#form-banner")
    phone = contact_row(page, "phone")
    assert "not a valid phone number" in phone.locator(".invalid-feedback").inner_text()
    assert "is-invalid" in (phone.locator("input").get_attribute("class") or "")
    # Everything typed is still there.
    assert page.input_value("#first_name") == "Grace"
    assert page.locator("input[name=nickname]").last.input_value() == "Amazing Grace"
    assert contact_row(page, "email").locator("input").input_value() == "grace@navy.mil"
    assert page.input_value("[name='attr.score']") == "88"
    assert page.locator("#primary_channel").input_value() == "whatsapp"
    shot(page, "21-create-user-bad-phone")

    phone.locator("input").fill("+1 415 555 2671")
    page.click("#save-user")
    page.wait_for_url("**/groups")
    assert page.locator("#no-automatic-groups").is_visible()  # no rule matches Grace
    page.click("#finish")  # nothing ticked: straight to the profile
    page.wait_for_selector("#profile-name")
    assert page.locator("#profile-name").inner_text() == "Grace Hopper"
    assert page.locator("[data-contact=phone]").inner_text() == "+1 415-555-2671"
    assert page.locator("[data-field=score]").inner_text() == "88"
    assert page.locator("#profile-groups-empty").is_visible()
    shot(page, "23-profile-new-user")


def choice(page: Any, group_id: str) -> Any:
    return page.locator(f'#group-choices .group-choice[data-group-id="{group_id}"]')


def test_create_user_then_choose_groups(page: Any, site: Site, shot: Shot) -> None:
    page.goto(f"{site.url}/users/new")
    page.fill("#first_name", "Kofi")
    page.fill("#last_name", "Mensah")
    contact_row(page, "email").locator("input").fill("kofi@mensah.example")
    page.select_option("[name='attr.plan']", "Premium")
    page.click("#save-user")
    page.wait_for_url("**/groups")
    automatic = page.locator("#automatic-groups .auto-group")
    assert automatic.evaluate_all("nodes => nodes.map(n => n.dataset.groupId)") == [
        site.premium_or_vip
    ]
    assert "joined automatically" in automatic.inner_text()
    assert choice(page, site.premium_or_vip).count() == 0  # only manual groups are offered

    page.fill("#group-search", "pilot")  # the search keeps what is ticked
    expect(page.locator("#group-choices .group-choice")).to_have_count(1)
    choice(page, site.pilots).locator("input").check()
    page.fill("#group-search", "key acc")
    expect(page.locator("#group-choices .group-choice")).to_have_count(2)
    assert choice(page, site.pilots).locator("input").is_checked()
    choice(page, site.key_accounts).locator("input").check()
    page.fill("#group-search", "")
    expect(page.locator("#group-choices .group-choice")).to_have_count(2)
    shot(page, "22-create-user-groups-step")

    page.click("#finish")
    page.wait_for_selector("#profile-name")
    assert page.locator("#profile-name").inner_text() == "Kofi Mensah"
    assert "added to 2 groups" in page.locator("#flash-area").inner_text()
    listed = page.locator("#profile-groups .profile-group").evaluate_all(
        "nodes => nodes.map(n => n.dataset.groupId)"
    )
    assert set(listed) == {site.key_accounts, site.pilots, site.premium_or_vip}
    shot(page, "26-profile-new-user-groups")


def test_duplicate_email_names_the_existing_person(page: Any, site: Site, shot: Shot) -> None:
    page.goto(f"{site.url}/users/new")
    page.fill("#full_name", "Another Ada")
    contact_row(page, "email").locator("input").fill("ADA@acme.com")
    page.click("#save-user")
    conflict = page.locator("#conflict")
    conflict.wait_for()
    assert "Ada Lovelace" in conflict.inner_text()
    assert "already belongs to Ada Lovelace" in contact_row(page, "email").inner_text()
    shot(page, "24-create-user-conflict")
    conflict.locator("a").click()
    page.wait_for_selector("#profile-name")
    assert page.locator("#profile-name").inner_text() == "Ada Lovelace"


def test_edit_profile(page: Any, site: Site, shot: Shot) -> None:
    page.goto(f"{site.url}/users")
    page.locator("#users-table tbody a.user-cell").nth(3).click()
    page.wait_for_selector("#profile-name")
    page.click("#edit-profile")
    page.wait_for_url("**/edit")
    shot(page, "25-edit-profile")
    page.fill("#full_name", "Renamed Person")
    page.select_option("[name='attr.vip']", "true")
    page.click("#save-user")
    page.wait_for_selector("#profile-name")
    assert page.locator("#profile-name").inner_text() == "Renamed Person"
    assert page.locator("[data-field=vip]").inner_text() == "Yes"
    assert "Profile saved" in page.locator("#flash-area").inner_text()
