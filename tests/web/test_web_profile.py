"""A profile in the browser: notes and files on the timeline; groups, why, add and remove."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import Site, sign_in

pytestmark = pytest.mark.browser
Shot = Callable[..., None]


def open_profile(page: Any, site: Site, index: int) -> str:
    page.goto(f"{site.url}/users")
    page.locator("#users-table tbody a.user-cell").nth(index).click()
    page.wait_for_selector("#profile-name")
    return str(page.url)


def test_note_and_file_on_the_timeline(page: Any, site: Site, shot: Shot, tmp_path: Path) -> None:
    url = open_profile(page, site, 5)
    assert page.locator("#timeline-empty").is_visible()
    shot(page, "30-profile")

    page.fill("#note-body", "Called about the renewal.\nPrefers WhatsApp in the evening.")
    page.click("#add-note")
    entry = page.locator("#timeline .timeline-entry[data-kind=note]").first
    entry.wait_for()
    assert "Prefers WhatsApp" in entry.inner_text()
    assert "Ada Lovelace" in entry.inner_text()
    assert page.input_value("#note-body") == ""  # the form is fresh again
    assert page.locator("#timeline-empty").is_hidden()
    assert page.locator("#last-activity").inner_text() == "Last activity just now"

    page.click("#add-note")  # an empty note is refused, next to the form
    page.locator("#note-error").wait_for()
    assert "needs some text" in page.locator("#note-error").inner_text()
    shot(page, "32-profile-empty-note", full=False)

    upload = tmp_path / "contract.txt"
    upload.write_text("signed contract, 2 pages\n")
    page.click("#tab-file-link")
    page.set_input_files("#file-input", str(upload))
    page.fill("#file-caption", "Signed contract")
    page.click("#upload-file")
    media = page.locator("#timeline .timeline-entry[data-kind=media]").first
    media.wait_for()
    link = media.locator("a.file-link")
    assert link.inner_text() == "contract.txt"
    assert "Signed contract" in media.inner_text()
    kinds = page.locator("#timeline .timeline-entry").evaluate_all(
        "nodes => nodes.map(n => n.dataset.kind)"
    )
    assert kinds[:2] == ["media", "note"]  # newest first
    shot(page, "31-profile-timeline")

    with page.expect_download() as info:
        link.click()
    assert Path(info.value.path()).read_text() == "signed contract, 2 pages\n"
    assert info.value.suggested_filename == "contract.txt"

    page.goto(url)  # both survive a reload, newest first
    kinds = page.locator("#timeline .timeline-entry").evaluate_all(
        "nodes => nodes.map(n => n.dataset.kind)"
    )
    assert kinds == ["media", "note"]


def test_timeline_shows_every_kind_newest_first(page: Any, site: Site, shot: Shot) -> None:
    page.goto(f"{site.url}/users/{site.featured}")
    entries = page.locator("#timeline .timeline-entry")
    kinds = entries.evaluate_all("nodes => nodes.map(n => n.dataset.kind)")
    assert kinds == ["note", "conversation", "ticket"]
    ticket = page.locator("#timeline .timeline-entry[data-kind=ticket]")
    assert "Card declined at checkout" in ticket.inner_text()
    assert "Pending" in ticket.inner_text()
    assert "Sam Support" in ticket.inner_text()
    assert "WhatsApp" in page.locator("#timeline [data-kind=conversation]").inner_text()
    title = ticket.locator("time").get_attribute("title") or ""
    assert title.endswith("UTC")  # the exact time, in the workspace's zone
    shot(page, "33-profile-ticket-and-conversation")


def group_ids(page: Any) -> set[str]:
    items = page.locator("#profile-groups .profile-group")
    return set(items.evaluate_all("nodes => nodes.map(n => n.dataset.groupId)"))


def test_profile_lists_groups_and_explains_rules(page: Any, site: Site, shot: Shot) -> None:
    page.goto(f"{site.url}/users/{site.featured}")
    card = page.locator("#profile-groups")
    assert group_ids(page) == {site.key_accounts, site.premium_or_vip, site.renewal_on_file}
    manual = card.locator(f'.profile-group[data-group-id="{site.key_accounts}"]')
    assert manual.locator("a.group-link").get_attribute("href") == f"/groups/{site.key_accounts}"
    assert manual.locator(".group-kind").inner_text() == "Manual"
    assert "Added by hand · Ada Lovelace" in manual.locator(".membership-meta").inner_text()
    assert manual.locator(".membership-expiry").inner_text() == "Expires in 1 month"
    assert manual.locator(".why-button").count() == 0
    rule = card.locator(f'.profile-group[data-group-id="{site.premium_or_vip}"]')
    assert rule.locator(".group-kind").inner_text() == "Dynamic"
    assert rule.locator(".membership-source").inner_text() == "Matched the rule"
    assert rule.locator(".remove-membership").count() == 0  # the rule decides, not a button
    card.scroll_into_view_if_needed()
    shot(page, "34-profile-groups", full=False)

    rule.locator(".why-button").click()
    clauses = rule.locator(".why-clause")
    expect(clauses).to_have_count(2)
    passing = rule.locator(".why-clause[data-matched=true]")
    failing = rule.locator(".why-clause[data-matched=false]")
    assert passing.locator(".why-words").inner_text() == "VIP is Yes"
    assert failing.locator(".why-words").inner_text() == "Plan is Premium"
    assert "Free" in failing.locator(".why-now").inner_text()  # what the person has instead
    assert "The rule selects" in rule.locator(".why-verdict").inner_text()
    assert rule.locator("#why-exclude").count() == 0

    other = card.locator(f'.profile-group[data-group-id="{site.renewal_on_file}"]')
    other.locator(".why-button").click()
    exclude = other.locator("#why-exclude")
    exclude.wait_for()
    assert "Not excluded" in exclude.inner_text()
    assert exclude.locator(".why-clause[data-matched=false] .why-words").inner_text() == (
        "Plan is Premium"
    )
    include = other.locator("#why-include .why-clause[data-matched=true] .why-words")
    assert include.inner_text() == "Renewal date is set"
    rule.scroll_into_view_if_needed()
    shot(page, "35-profile-why", full=False)

    rule.locator(".why-button").click()  # the same button folds the explanation away
    expect(rule.locator(".why-panel")).to_be_hidden()


def test_add_to_and_remove_from_a_manual_group(page: Any, site: Site, shot: Shot) -> None:
    page.goto(f"{site.url}/users/{site.loner}")
    assert page.locator("#profile-groups-empty").is_visible()
    page.select_option("#add-group-select", label="Pilot programme")
    page.click("#add-group-submit")
    added = page.locator(f'.profile-group[data-group-id="{site.pilots}"]')
    added.wait_for()
    assert page.locator("#groups-notice").inner_text() == "Added to Pilot programme."
    assert "Added by hand · Ada Lovelace" in added.inner_text()
    options = page.locator("#add-group-select option").all_inner_texts()
    assert "Pilot programme" not in options
    assert "Key accounts" in options
    assert "Premium or VIP" not in options  # only manual groups can be chosen
    shot(page, "36-profile-group-added", full=False)

    page.reload()  # it was saved
    assert group_ids(page) == {site.pilots}
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f'.profile-group[data-group-id="{site.pilots}"] .remove-membership').click()
    page.locator("#profile-groups-empty").wait_for()
    assert page.locator("#groups-notice").inner_text() == "Removed from Pilot programme."
    page.reload()
    assert group_ids(page) == set()


def test_read_only_sees_groups_but_cannot_change_them(browser: Any, site: Site) -> None:
    context = browser.new_context()
    try:
        tab = context.new_page()
        sign_in(tab, site, site.reader_email)
        tab.goto(f"{site.url}/users/{site.featured}")
        assert group_ids(tab) == {site.key_accounts, site.premium_or_vip, site.renewal_on_file}
        assert tab.locator("#add-to-group, .remove-membership").count() == 0
        assert tab.locator(".why-button").count() == 2  # explaining is reading
        tab.goto(f"{site.url}/users/{site.featured}/groups")  # create-user step 2 is not theirs
        assert tab.url == f"{site.url}/users/{site.featured}"
    finally:
        context.close()
