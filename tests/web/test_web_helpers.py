"""The small pure helpers of the web UI: formatting, table state in URLs, filter builder rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.datastructures import QueryParams

from coterie.errors import FieldError, Invalid
from coterie.web import filters, templating
from coterie.web.campaign_form import from_local_input
from coterie.web.table import TableState, parse_rule

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=10), "just now"),
        (timedelta(minutes=5), "5 minutes ago"),
        (timedelta(hours=1), "1 hour ago"),
        (timedelta(hours=30), "yesterday"),
        (timedelta(days=3), "3 days ago"),
        (timedelta(days=65), "2 months ago"),
        (timedelta(days=800), "2 years ago"),
        (-timedelta(days=3), "in 3 days"),
    ],
)
def test_relative_time(delta: timedelta, text: str) -> None:
    assert templating.relative_time(NOW - delta, NOW) == text


def test_exact_time_uses_the_workspace_zone() -> None:
    assert templating.exact_time(NOW, "Europe/Paris") == "22 Nov 2026, 13:00 CET"
    assert templating.exact_time(NOW, "Not/AZone") == "22 Nov 2026, 12:00 UTC"
    assert templating.relative_time(None) == "Never"


@pytest.mark.parametrize(
    ("name", "letters"),
    [
        ("Grace Hopper", "GH"),
        ("Ada", "AD"),
        ("Jean-Luc Picard", "JP"),
        ("", "?"),
        ("Room 101", "RO"),
        ("Ana María de la Cruz", "AC"),
    ],
)
def test_initials(name: str, letters: str) -> None:
    assert templating.initials(name) == letters


def test_file_size_and_avatar_colour() -> None:
    assert templating.file_size(25) == "25 bytes"
    assert templating.file_size(2048) == "2.0 KB"
    assert templating.file_size(5 * 1024 * 1024) == "5.0 MB"
    assert templating.avatar_color(42) == templating.avatar_color(42)


def test_table_state_round_trips_through_the_url() -> None:
    tree = {"all": [{"field": "attributes.plan", "op": "eq", "value": "Pro"}]}
    state = TableState(
        filter=json.dumps(tree),
        sort="last_activity_at",
        descending=True,
        size=10,
        columns=("attributes.plan",),
        cursor="abc",
    )
    query = QueryParams(urlsplit(state.url()).query)
    assert TableState.from_query(query) == state
    # A new sort starts on the first page; the same column again turns the order around.
    assert "cursor" not in state.sort_url("full_name")
    assert parse_qs(urlsplit(state.sort_url("last_activity_at")).query)["order"] == ["asc"]
    export = parse_qs(urlsplit(state.export_url()).query)
    assert set(export) == {"filter", "sort", "order"}
    assert state.rule_json() == tree


def test_table_state_ignores_what_it_cannot_use() -> None:
    state = TableState.from_query(QueryParams("size=13&order=sideways&col=a,b&col=a"))
    assert (state.size, state.descending, state.columns) == (25, False, ("a", "b"))
    assert TableState(filter='attributes.plan eq "Pro"').rule_json() is None


def test_parse_rule_explains_bad_json() -> None:
    assert parse_rule("") is None
    with pytest.raises(Invalid, match="not valid JSON"):
        parse_rule("{oops")


def test_builder_rows_and_error_wording() -> None:
    flat = {"any": [{"field": "full_name", "op": "contains", "value": "a"}]}
    assert filters.builder_state(flat, "x") == filters.BuilderState("any", flat["any"], "")
    nested = {"all": [{"not": {"field": "full_name", "op": "eq", "value": "a"}}]}
    assert filters.builder_state(nested, "raw").advanced == "raw"
    assert filters.builder_state(None, "").rows == []
    fields = [{"name": "attributes.score", "label": "Score"}]
    errors = filters.row_errors(
        [
            FieldError("filter.all[2].value", "gt on 'attributes.score' needs a number, got \"\""),
            FieldError("filter", "something else"),
        ],
        fields,
    )
    assert errors[0] == filters.RowError(
        2, "value", "“Score greater than” needs a number, but it is empty"
    )
    assert errors[1] == filters.RowError(None, None, "something else")


def test_stored_dates_read_well() -> None:
    assert templating.stored_date("2026-12-02") == "2 Dec 2026"
    assert templating.stored_date("2026-12-02T09:30:00Z") == "2 Dec 2026, 09:30 UTC"
    assert templating.stored_date("someday") == "someday"


@pytest.mark.parametrize(
    ("text", "time_zone"),
    [("9999-12-31T23:00", "America/New_York"), ("0001-01-01T00:30", "Asia/Tokyo")],
)
def test_a_local_time_outside_the_storable_years_is_refused_naming_its_field(
    text: str, time_zone: str
) -> None:
    with pytest.raises(Invalid) as refused:
        from_local_input(text, time_zone, "starts_at")
    assert [e.field for e in refused.value.errors] == ["starts_at"]
