"""All Users in the browser: filter on a custom field, sort by a header, page through, CSV."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from tests.web.conftest import Site, people_now

pytestmark = pytest.mark.browser
Shot = Callable[..., None]


def names(page: Any) -> list[str]:
    return [
        n.strip() for n in page.locator("#users-table tbody [data-col=full_name]").all_inner_texts()
    ]


def column(page: Any, key: str) -> list[str]:
    cells = page.locator(f"#users-table tbody td[data-col='{key}']").all_inner_texts()
    return [c.strip() for c in cells]


def settled(page: Any) -> None:
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )


def click_and_wait(page: Any, selector: str) -> None:
    """Click something that reloads the table (htmx or not) and wait until it is swapped in."""
    with page.expect_response(lambda r: urlsplit(r.url).path == "/users"):
        page.click(selector)
    settled(page)


def add_condition(page: Any, field: str, op: str, value: str | None = None) -> None:
    page.click("[data-filter-add]")
    row = page.locator("[data-filter-row]").last
    row.locator("[data-part=field]").select_option(field)
    row.locator("[data-part=op]").select_option(op)
    if value is not None:
        widget = row.locator("[data-part=value] select, [data-part=value] input").first
        if widget.evaluate("n => n.tagName") == "SELECT":
            widget.select_option(value)
        else:
            widget.fill(value)


def scores_of(page: Any) -> list[int]:
    """The Score column as numbers; people other tests added may have none (shown "—")."""
    return [int(s) for s in column(page, "attributes.score") if s != "—"]


def show_columns(page: Any, *labels: str, shot: Shot | None = None) -> None:
    page.click("#columns-picker")
    for label in labels:
        exact = re.compile(rf"^\s*{re.escape(label)}\s*$")  # "Plan", not "Plan tier"
        page.locator(".columns-menu label", has_text=exact).locator("input").check()
    if shot is not None:
        shot(page, "15-columns-picker", full=False)
    click_and_wait(page, ".columns-menu button[type=submit]")


def test_filter_sort_and_page(page: Any, site: Site, shot: Shot) -> None:
    page.goto(f"{site.url}/users")
    add_condition(page, "attributes.plan", "in")
    row = page.locator("[data-filter-row]").last
    row.locator("label", has_text="Pro").first.click()
    row.locator("label", has_text="Premium").click()
    shot(page, "10-filter-builder")
    click_and_wait(page, "#apply-filter")
    count = page.locator("#results-count").inner_text()
    assert count.startswith(f"{people_now(site, ('Pro', 'Premium'))} people"), count
    query = parse_qs(urlsplit(page.url).query)
    assert json.loads(query["filter"][0]) == {
        "all": [{"field": "attributes.plan", "op": "in", "value": ["Pro", "Premium"]}]
    }

    show_columns(page, "Plan", "Score", shot=shot)
    assert set(column(page, "attributes.plan")) == {"Pro", "Premium"}
    first_page = names(page)
    assert first_page == sorted(first_page)
    shot(page, "11-filtered-premium")

    # Sort by Name, descending: click the active header once.
    click_and_wait(page, "a.sort-link[data-sort=full_name]")
    assert "order=desc" in page.url
    descending = names(page)
    assert descending == sorted(descending, reverse=True)
    assert descending != first_page
    assert page.locator("th[aria-sort=descending]").inner_text().strip().lower() == "name"

    # Sort by the custom Score column, then page through ten at a time.
    click_and_wait(page, "a.sort-link[data-sort='attributes.score']")
    click_and_wait(page, "a[data-size='10']")
    scores = scores_of(page)
    assert len(scores) == 10
    assert scores == sorted(scores)
    shot(page, "12-sorted-by-score")

    click_and_wait(page, "a[data-page=next]")
    second = scores_of(page)
    assert second == sorted(second)
    assert second[0] >= scores[-1]
    assert "cursor=" in page.url

    click_and_wait(page, "a[data-page=last]")
    last_cells = column(page, "attributes.score")
    last = scores_of(page)
    assert last == sorted(last)
    assert last[-1] == max((i * 37) % 100 for i in range(60) if i % 3 != 0)
    assert last[0] > second[-1]
    assert page.locator("span[data-page=next]").count() == 1  # next is disabled on the last page
    shot(page, "13-last-page")

    click_and_wait(page, "a[data-page=first]")
    assert scores_of(page) == scores

    # Back and reload keep the state, because it lives in the URL.
    scores_shown = page.locator("#users-table tbody td[data-col='attributes.score']")
    page.go_back()  # htmx reloads the page from the URL it pushed
    expect(scores_shown).to_have_text(last_cells)
    assert "cursor=" in page.url
    page.reload()
    expect(scores_shown).to_have_text(last_cells)


def test_invalid_filter_is_explained_inline(page: Any, site: Site, shot: Shot) -> None:
    page.goto(f"{site.url}/users")
    add_condition(page, "attributes.score", "gt", "")
    add_condition(page, "full_name", "contains", "")
    click_and_wait(page, "#apply-filter")
    errors = page.locator("#filter-errors .filter-error")
    assert errors.count() >= 1
    text = page.locator("#filter-errors").inner_text()
    assert "Condition 1" in text
    assert "number" in text
    assert page.locator("[data-filter-row].has-error").count() >= 1
    assert page.locator("#users-table").count() == 0
    shot(page, "14-filter-error")


def test_csv_download_has_the_filtered_rows(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/users")
    add_condition(page, "attributes.plan", "eq", "Premium")
    add_condition(page, "primary_channel", "in")
    page.locator("[data-filter-row]").last.locator("label", has_text="whatsapp").click()
    page.locator("[data-filter-row]").last.locator("label", has_text="email").click()
    click_and_wait(page, "#apply-filter")
    shown = int(page.locator("#results-count strong").inner_text().replace(",", ""))
    assert 0 < shown < site.premium
    with page.expect_download() as info:
        page.click("#download-csv")
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert len(rows) == shown
    assert {r["attributes.plan"] for r in rows} == {"Premium"}
    assert {r["primary_channel"] for r in rows} <= {"whatsapp", "email"}
    assert [r["full_name"] for r in rows] == sorted(r["full_name"] for r in rows)
