"""All Users in the browser: filter on a custom field, sort by a header, page through, CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.web.conftest import Site

pytestmark = pytest.mark.browser
Shot = Callable[[Any, str], None]


def names(page: Any) -> list[str]:
    return [n.strip() for n in page.locator("#users-table tbody [data-col=full_name]").all_inner_texts()]


def column(page: Any, key: str) -> list[str]:
    cells = page.locator(f"#users-table tbody td[data-col='{key}']").all_inner_texts()
    return [c.strip() for c in cells]


def wait_for_table(page: Any) -> None:
    page.wait_for_load_state("networkidle")
    page.locator("#results:not(.htmx-request)").wait_for()


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


def show_columns(page: Any, *labels: str) -> None:
    page.click("#columns-picker")
    for label in labels:
        page.locator(".columns-menu label", has_text=label).locator("input").check()
    page.click(".columns-menu button[type=submit]")
    wait_for_table(page)


def test_filter_sort_and_page(page: Any, site: Site, shot: Shot) -> None:
    page.goto(f"{site.url}/users")
    add_condition(page, "attributes.plan", "in")
    row = page.locator("[data-filter-row]").last
    row.locator("label", has_text="Pro").first.click()
    row.locator("label", has_text="Premium").click()
    shot(page, "10-filter-builder")
    page.click("#apply-filter")
    wait_for_table(page)
    count = page.locator("#results-count").inner_text()
    assert count.startswith(f"{site.paid} people"), count
    query = parse_qs(urlsplit(page.url).query)
    assert json.loads(query["filter"][0]) == {
        "all": [{"field": "attributes.plan", "op": "in", "value": ["Pro", "Premium"]}]
    }

    show_columns(page, "Plan", "Score")
    assert set(column(page, "attributes.plan")) == {"Pro", "Premium"}
    first_page = names(page)
    assert first_page == sorted(first_page)
    shot(page, "11-filtered-premium")

    # Sort by Name, descending: click the active header once.
    page.click("a.sort-link[data-sort=full_name]")
    wait_for_table(page)
    assert "order=desc" in page.url
    descending = names(page)
    assert descending == sorted(descending, reverse=True)
    assert descending != first_page
    assert page.locator("th[aria-sort=descending]").inner_text().strip().lower() == "name"

    # Sort by the custom Score column, then page through ten at a time.
    page.click("a.sort-link[data-sort='attributes.score']")
    wait_for_table(page)
    page.click("a[data-size='10']")
    wait_for_table(page)
    scores = [int(s) for s in column(page, "attributes.score")]
    assert len(scores) == 10
    assert scores == sorted(scores)
    shot(page, "12-sorted-by-score")

    page.click("a[data-page=next]")
    wait_for_table(page)
    second = [int(s) for s in column(page, "attributes.score")]
    assert second == sorted(second) and second[0] >= scores[-1]
    assert "cursor=" in page.url

    page.click("a[data-page=last]")
    wait_for_table(page)
    last = [int(s) for s in column(page, "attributes.score")]
    assert last == sorted(last) and last[-1] == max(
        (i * 37) % 100 for i in range(60) if i % 3 != 0
    )
    assert last[0] > second[-1]
    assert page.locator("span[data-page=next]").count() == 1  # next is disabled on the last page
    shot(page, "13-last-page")

    page.click("a[data-page=first]")
    wait_for_table(page)
    assert [int(s) for s in column(page, "attributes.score")] == scores

    # Back and reload keep the state, because it lives in the URL.
    page.go_back()
    wait_for_table(page)
    assert [int(s) for s in column(page, "attributes.score")] == last
    page.reload()
    assert [int(s) for s in column(page, "attributes.score")] == last


def test_invalid_filter_is_explained_inline(page: Any, site: Site, shot: Shot) -> None:
    page.goto(f"{site.url}/users")
    add_condition(page, "attributes.score", "gt", "")
    add_condition(page, "full_name", "contains", "")
    page.click("#apply-filter")
    wait_for_table(page)
    errors = page.locator("#filter-errors .filter-error")
    assert errors.count() >= 1
    text = page.locator("#filter-errors").inner_text()
    assert "Condition 1" in text and "number" in text
    assert page.locator("[data-filter-row].has-error").count() >= 1
    assert page.locator("#users-table").count() == 0
    shot(page, "14-filter-error")


def test_csv_download_has_the_filtered_rows(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/users")
    add_condition(page, "attributes.plan", "eq", "Premium")
    add_condition(page, "primary_channel", "in")
    page.locator("[data-filter-row]").last.locator("label", has_text="whatsapp").click()
    page.locator("[data-filter-row]").last.locator("label", has_text="email").click()
    page.click("#apply-filter")
    wait_for_table(page)
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
