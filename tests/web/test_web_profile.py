"""A profile in the browser: add a note and upload a file, both appear on the timeline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import Site

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
