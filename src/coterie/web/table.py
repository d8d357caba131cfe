"""The state of the All Users table (filter, sort, page, columns) as it lives in the query string.

Every state of the table is a URL, so reload, back and a pasted link show the same selection.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from coterie.directory.models import SavedView
from coterie.errors import Invalid
from coterie.pagination import PAGE_SIZES
from coterie.rules import Rule, parse_filter

DEFAULT_SORT = "full_name"
DEFAULT_SIZE = 25


@dataclass(frozen=True)
class TableState:
    filter: str = ""  # the JSON rule tree (or SCIM filter text) as typed in the URL
    sort: str = DEFAULT_SORT
    descending: bool = False
    size: int = DEFAULT_SIZE
    cursor: str | None = None
    columns: tuple[str, ...] = ()

    @classmethod
    def from_query(cls, params: QueryParams) -> TableState:
        size = params.get("size", "")
        columns = [c for value in params.getlist("col") for c in value.split(",") if c]
        return cls(
            filter=params.get("filter", "").strip()[:20_000],
            sort=params.get("sort", DEFAULT_SORT)[:80] or DEFAULT_SORT,
            descending=params.get("order") == "desc",
            size=int(size) if size.isdigit() and int(size) in PAGE_SIZES else DEFAULT_SIZE,
            cursor=params.get("cursor") or None,
            columns=tuple(dict.fromkeys(columns))[:50],
        )

    @classmethod
    def of_view(cls, view: SavedView) -> TableState:
        return cls(
            filter=json.dumps(view.filter, separators=(",", ":")) if view.filter else "",
            sort=view.sort,
            descending=view.descending,
            size=view.page_size,
            columns=tuple(view.columns),
        )

    def change(self, **changes: Any) -> TableState:
        """A new state; anything but a cursor change starts again on the first page."""
        if "cursor" not in changes:
            changes["cursor"] = None
        return replace(self, **changes)

    def params(self, *, with_cursor: bool = True) -> list[tuple[str, str]]:
        items = [
            ("sort", self.sort),
            ("order", "desc" if self.descending else "asc"),
            ("size", str(self.size)),
        ]
        if self.filter:
            items.insert(0, ("filter", self.filter))
        items.extend(("col", c) for c in self.columns)
        if with_cursor and self.cursor:
            items.append(("cursor", self.cursor))
        return items

    def url(self, path: str = "/users", **changes: Any) -> str:
        state = self.change(**changes) if changes else self
        return f"{path}?{urlencode(state.params())}"

    def sort_url(self, column: str) -> str:
        """Sort by `column`; clicking the current sort column turns the order around."""
        descending = not self.descending if column == self.sort else False
        return self.url(sort=column, descending=descending)

    def export_url(self) -> str:
        items = [(k, v) for k, v in self.params(with_cursor=False) if k != "size" and k != "col"]
        return f"/users/export.csv?{urlencode(items)}"

    def rule_json(self) -> dict[str, Any] | None:
        """The filter as a JSON tree, or None when it is empty or not JSON (SCIM text)."""
        if not self.filter.startswith("{"):
            return None
        try:
            value = json.loads(self.filter)
        except json.JSONDecodeError:
            return None
        return value if isinstance(value, dict) else None

    def same_as(self, view: SavedView) -> bool:
        other = TableState.of_view(view)
        return (
            self.rule_json() == other.rule_json()
            and (self.filter == "") == (other.filter == "")
            and (self.sort, self.descending, self.size, self.columns)
            == (other.sort, other.descending, other.size, other.columns)
        )


def parse_rule(text: str) -> Rule | None:
    """The filter of the URL: a JSON rule tree if it looks like JSON, else SCIM filter text."""
    if not text:
        return None
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise Invalid(f"The filter is not valid JSON: {exc.msg}", field="filter") from exc
        return parse_filter(data)
    return parse_filter(text)
