"""Hand-checked rules over the rows of rule_tables.py, shared by both evaluators' tests.

`test_rule_sql` runs them as SQL on each database, `test_rule_python` through the Python
predicate over the same rows as records.
"""

from __future__ import annotations

from typing import Any

ALL = frozenset(range(1, 16))  # the ids of the rows of rule_tables.ROWS


def everyone_but(*ids: int) -> set[int]:
    return set(ALL) - set(ids)


# (field, op, value, expected ids); `...` means the condition has no value.
CASES: list[tuple[str, str, Any, set[int]]] = [
    # text: case-insensitive, Unicode-aware, LIKE wildcards literal
    ("name", "eq", "émile zola", {2}),
    ("name", "eq", "ÖLAF BERG", {1}),
    ("name", "eq", "ångström", {15}),
    ("name", "eq", "", {14}),
    ("name", "ne", "émile zola", everyone_but(2)),
    ("name", "in", ["ölaf berg", "ÉMILE PETIT"], {1, 3}),
    ("name", "not_in", ["ölaf berg", "ÉMILE PETIT"], everyone_but(1, 3)),
    ("name", "contains", "ÉMILE", {2, 3}),
    ("name", "contains", "%", {4}),
    ("name", "contains", "_", {5}),
    ("name", "contains", "\\", {6}),
    ("name", "contains", "/", {6}),
    ("name", "starts_with", "100%", {4}),
    ("name", "starts_with", "_", set()),
    ("name", "ends_with", "_SCORE", {5}),
    ("name", "ends_with", "e", {4, 5, 13}),
    ("name", "is_set", ..., everyone_but(7)),
    ("name", "is_not_set", ..., {7}),
    # phone: exact after normalize, substring tests on the stored text
    ("phone", "eq", "07911 123456", {1}),
    ("phone", "eq", "+44 7911 123456", {1}),
    ("phone", "ne", "07911 123456", everyone_but(1)),
    ("phone", "in", ["+33 1 23 45 67 89", "+1 555 0001"], {2, 4}),
    ("phone", "contains", "7911", {1, 13, 15}),
    ("phone", "starts_with", "+1", {4, 5}),
    ("phone", "is_set", ..., {1, 2, 4, 5, 13, 15}),
    # number column
    ("score", "eq", 10, {1}),
    ("score", "eq", 99.5, {2}),
    ("score", "ne", 10, everyone_but(1)),
    ("score", "in", [0, 10], {1, 4}),
    ("score", "in", [1, 0.1], set()),  # PostgreSQL once cast the list to the first value's type
    ("score", "in", [-3.5, 10, 0.5], {1, 5}),
    ("score", "not_in", [0, 10], everyone_but(1, 4)),
    ("score", "gt", 10, {2, 6, 13}),
    ("score", "gte", 10, {1, 2, 6, 13}),
    ("score", "lt", 0, {5}),
    ("score", "lte", 0, {4, 5}),
    ("score", "between", [0, 50], {1, 4, 13}),
    ("score", "is_not_set", ..., everyone_but(1, 2, 4, 5, 6, 13)),
    # datetime column (NOW is 2024-06-15T12:00Z)
    ("seen_at", "within_last", 7, {1, 5}),
    ("seen_at", "not_within_last", 7, everyone_but(1, 5)),
    ("seen_at", "before", "2024-06-05", {4}),
    ("seen_at", "after", "2024-06-14", {6}),
    ("seen_at", "eq", "2024-06-14", {1}),
    ("seen_at", "ne", "2024-06-14", everyone_but(1)),
    ("seen_at", "eq", "2024-06-14T12:00:00Z", {1}),
    ("seen_at", "eq", "2024-06-14T14:00:00+02:00", {1}),
    ("seen_at", "gte", "2024-06-08T12:00:00Z", {1, 5, 6}),
    ("seen_at", "gt", "2024-06-08T12:00:00Z", {1, 6}),
    ("seen_at", "lt", "2024-06-08T12:00:00Z", {2, 4, 13}),
    ("seen_at", "lte", "2024-06-08", {2, 4, 5, 13}),
    ("seen_at", "between", ["2024-06-05", "2024-06-08"], {2, 5, 13}),
    ("seen_at", "is_set", ..., {1, 2, 4, 5, 6, 13}),
    # boolean column
    ("active", "eq", True, {1, 4, 13}),
    ("active", "eq", False, {2, 5}),
    ("active", "ne", True, everyone_but(1, 4, 13)),
    ("active", "is_not_set", ..., everyone_but(1, 2, 4, 5, 13)),
    # date column
    ("joined", "eq", "2024-06-15", {4}),
    ("joined", "gt", "2024-06-01", {4, 13}),
    ("joined", "within_last", 1, {4, 13}),
    ("joined", "before", "2024-01-01", {2}),
    ("joined", "between", ["2024-01-10", "2024-06-14"], {1, 13}),
    # date field on a UTC datetime column: days are UTC days
    ("seen_on", "eq", "2024-06-14", {1}),
    ("seen_on", "within_last", 7, {1, 5, 13}),
    ("seen_on", "before", "2024-06-08", {2, 4}),
    # JSON enum: exact, an option's case is forgiven
    ("attributes.plan", "eq", "Pro", {1, 13}),
    ("attributes.plan", "eq", "pro", {1, 13}),
    ("attributes.plan", "ne", "Pro", everyone_but(1, 13)),
    ("attributes.plan", "in", ["Free", "Premium"], {2, 3}),
    ("attributes.plan", "not_in", ["Free", "Premium"], everyone_but(2, 3)),
    ("attributes.plan", "is_set", ..., {1, 2, 3, 13}),
    ("attributes.plan", "is_not_set", ..., everyone_but(1, 2, 3, 13)),
    # JSON text
    ("attributes.city", "eq", "ZÜRICH", {1, 13}),
    ("attributes.city", "eq", "paris", {2}),
    ("attributes.city", "contains", "%", {5}),
    ("attributes.city", "contains", "_", {4}),
    ("attributes.city", "contains", "\\b/", {6}),
    ("attributes.city", "starts_with", "50%", {5}),
    ("attributes.city", "ends_with", "/C", {6}),
    ("attributes.city", "is_set", ..., {1, 2, 4, 5, 6, 13, 14}),
    # JSON integer: "5", 2.5 and 2.0 are not integers, so they read as unset
    ("attributes.seats", "eq", 5, {1}),
    ("attributes.seats", "eq", 5.0, {1}),
    ("attributes.seats", "ne", 5, everyone_but(1)),
    ("attributes.seats", "gt", 5, {2, 5, 13}),
    ("attributes.seats", "lte", 0, {4}),
    ("attributes.seats", "between", [1, 10], {1, 5}),
    ("attributes.seats", "in", [0, 100], {2, 4}),
    ("attributes.seats", "in", [5, 3_000_000_000, 2**63 - 1], {1}),  # once INTEGER overflow
    ("score", "in", [1e6, -(2**63)], {6}),
    ("attributes.seats", "is_set", ..., {1, 2, 4, 5, 13}),
    # JSON number
    ("attributes.rating", "gt", 2, {1, 2}),
    ("attributes.rating", "gte", 2, {1, 2, 12}),
    ("attributes.rating", "lt", 0, {4}),
    ("attributes.rating", "eq", 3.0, {2}),
    ("attributes.rating", "eq", 4.5, {1}),
    ("attributes.rating", "in", [3, 4.5], {1, 2}),
    ("attributes.rating", "not_in", [-1, -1.25], everyone_but(4)),
    ("attributes.rating", "between", [-2, 3], {2, 4, 12}),
    ("attributes.rating", "is_set", ..., {1, 2, 4, 12}),
    # JSON boolean
    ("attributes.vip", "eq", True, {1}),
    ("attributes.vip", "eq", False, {2, 4}),
    ("attributes.vip", "ne", True, everyone_but(1)),
    ("attributes.vip", "is_set", ..., {1, 2, 4}),
    # JSON date
    ("attributes.since", "within_last", 14, {1, 5}),
    ("attributes.since", "not_within_last", 14, everyone_but(1, 5)),
    ("attributes.since", "eq", "2024-06-01", {1}),
    ("attributes.since", "before", "2024-06-01", {2}),
    ("attributes.since", "after", "2024-06-01", {5}),
    ("attributes.since", "gte", "2024-06-01", {1, 5}),
    ("attributes.since", "lte", "2023-12-31", {2}),
    ("attributes.since", "between", ["2023-12-31", "2024-06-01"], {1, 2}),
    # JSON datetime: whole seconds, stored `YYYY-MM-DDTHH:MM:SSZ`
    ("attributes.renewal", "within_last", 1, {2}),
    ("attributes.renewal", "within_last", 2, {1, 2}),
    ("attributes.renewal", "eq", "2024-06-15T12:00:00Z", {2}),
    ("attributes.renewal", "eq", "2024-06-15T14:00:00+02:00", {2}),
    ("attributes.renewal", "eq", "2024-06-15", {2, 5}),
    ("attributes.renewal", "gt", "2024-06-15T12:00:00Z", {5}),
    ("attributes.renewal", "gte", "2024-06-15T12:00:00.5Z", {5}),
    ("attributes.renewal", "lte", "2024-06-15T12:00:00.5Z", {1, 2}),
    ("attributes.renewal", "lt", "2024-06-15T12:00:00Z", {1}),
    ("attributes.renewal", "after", "2024-06-14", {2, 5}),
    ("attributes.renewal", "between", ["2024-06-14", "2024-06-15T12:00:00Z"], {1, 2}),
    # multi_enum: "a" (a string, not an array) and [] are unset
    ("attributes.tags", "any", ["a"], {1, 4}),
    ("attributes.tags", "any", ["a", "news"], {1, 2, 4}),
    ("attributes.tags", "all", ["a", "b"], {1, 4}),
    ("attributes.tags", "all", ["a", "b", "c"], {4}),
    ("attributes.tags", "all", ["a", "a"], {1, 4}),
    ("attributes.tags", "contains", "c", {4, 6}),
    ("attributes.tags", "contains", "NEWS", {2}),
    ("attributes.tags", "is_set", ..., {1, 2, 4, 6, 13}),
    ("attributes.tags", "is_not_set", ..., everyone_but(1, 2, 4, 6, 13)),
    # multi_enum in a JSON column of its own
    ("labels", "any", ["a", "news"], {1, 2, 4}),
    ("labels", "all", ["b", "a"], {1, 4}),
    ("labels", "contains", "c", {4, 6}),
    ("labels", "is_set", ..., {1, 2, 4, 6, 13}),
    # email: normalized, exact; url: case-insensitive
    ("attributes.email", "eq", " OLAF@Example.com ", {1}),
    ("attributes.email", "contains", "EXAMPLE.COM", {1, 13}),
    ("attributes.email", "ends_with", ".fr", {2}),
    ("attributes.email", "is_set", ..., {1, 2, 13}),
    ("attributes.site", "eq", "HTTPS://OLAF.EXAMPLE/home", {1}),
    ("attributes.site", "contains", "olaf", {1}),
    ("attributes.site", "is_set", ..., {1}),
]


def condition(field: str, op: str, value: Any) -> dict[str, Any]:
    found = {"field": field, "op": op}
    return found if value is ... else {**found, "value": value}


def case_id(case: tuple[str, str, Any, set[int]]) -> str:
    field, op, value, _ = case
    return f"{field} {op} {'' if value is ... else value!r}".strip()


COMPOSITES: list[tuple[dict[str, Any] | str, set[int]]] = [
    ({"all": [condition("name", "contains", "émile"), condition("score", "is_set", ...)]}, {2}),
    ({"any": [condition("attributes.plan", "eq", "Pro"), condition("score", "lt", 0)]}, {1, 5, 13}),
    ({"not": {"any": [condition("name", "is_not_set", ...), condition("active", "eq", True)]}},
     everyone_but(7, 1, 4, 13)),
    ({"all": [{"not": condition("attributes.tags", "any", ["a"])},
              condition("attributes.tags", "is_set", ...)]}, {2, 6, 13}),
    ('name co "émile" and not (score pr)', {3}),
    ('attributes.plan eq "Pro" or score gt 90 and active eq false', {1, 2, 13}),
    ('(attributes.plan eq "Pro" or score gt 90) and active eq false', {2}),
    ("attributes.seats ge 5 and attributes.seats le 12", {1, 5, 13}),
    ('name sw "ÉM" and name ew "zola"', {2}),
    ("phone eq null", everyone_but(1, 2, 4, 5, 13, 15)),
    ("not (attributes.vip eq true)", everyone_but(1)),
]  # fmt: skip


INVALID: list[tuple[dict[str, Any], str, str]] = [
    (condition("nope", "eq", "x"), "filter.field", "unknown field 'nope'"),
    ({"all": [condition("name", "eq", "x"), condition("Nope", "eq", 1)]},
     "filter.all[1].field", "unknown field"),
    (condition("name", "gt", "x"), "filter.op", "does not apply to text field 'name'"),
    (condition("attributes.plan", "contains", "P"), "filter.op", "does not apply"),
    (condition("active", "in", [True]), "filter.op", "does not apply"),
    (condition("attributes.tags", "eq", "a"), "filter.op", "does not apply"),
    (condition("score", "eq", "100"), "filter.value", 'needs a number, got "100"'),
    (condition("score", "eq", True), "filter.value", "needs a number"),
    (condition("score", "eq", [1]), "filter.value", "single value"),
    (condition("score", "eq", ...), "filter.value", "use is_not_set"),
    (condition("score", "in", []), "filter.value", "non-empty list"),
    (condition("score", "in", 3), "filter.value", "non-empty list"),
    (condition("score", "in", [1, "2"]), "filter.value[1]", "needs a number"),
    (condition("score", "between", [1]), "filter.value", "[low, high]"),
    (condition("score", "between", [5, 1]), "filter.value", "low <= high"),
    (condition("attributes.seats", "eq", 5.5), "filter.value", "whole number"),
    (condition("attributes.seats", "in", [1, 2**63]), "filter.value[1]", "within ±2^63"),
    (condition("score", "lt", -(2**63) - 1), "filter.value", "within ±2^63"),
    (condition("attributes.seats", "eq", 1e19), "filter.value", "within ±2^63"),
    (condition("active", "eq", "true"), "filter.value", "true or false"),
    (condition("active", "eq", 1), "filter.value", "true or false"),
    (condition("name", "is_set", True), "filter.value", "takes no value"),
    (condition("name", "contains", ""), "filter.value", "non-empty"),
    (condition("name", "eq", 5), "filter.value", "needs a text"),
    (condition("phone", "eq", "call me"), "filter.value", "not a phone number"),
    (condition("attributes.plan", "eq", "Gold"), "filter.value", "one of Free, Pro, Premium"),
    (condition("attributes.plan", "in", ["Pro", "Gold"]), "filter.value[1]", "one of"),
    (condition("attributes.tags", "any", ["zzz"]), "filter.value[0]", "one of a, b, c, news"),
    (condition("attributes.tags", "all", "a"), "filter.value", "non-empty list"),
    (condition("attributes.tags", "any", []), "filter.value", "non-empty list"),
    (condition("seen_at", "eq", "yesterday"), "filter.value", "ISO 8601"),
    (condition("seen_at", "eq", "2024-06-14T12:00:00"), "filter.value", "time zone"),
    (condition("seen_at", "eq", "2024-13-01"), "filter.value", "ISO 8601"),
    (condition("seen_at", "after", "0001-01-01T00:00:00+05:00"), "filter.value", "years 1 to"),
    (condition("seen_at", "lte", "9999-12-31T23:59:59.999999Z"), "filter.value", "years 1 to"),
    (condition("seen_at", "between", ["2024-06-14", 3]), "filter.value[1]", "needs a text"),
    (condition("joined", "eq", "2024-06-14T12:00:00Z"), "filter.value", "YYYY-MM-DD"),
    (condition("joined", "eq", "20240614"), "filter.value", "YYYY-MM-DD"),
    (condition("joined", "eq", "9999-12-31"), "filter.value", "YYYY-MM-DD"),
    (condition("seen_at", "within_last", 0), "filter.value", "between 1 and"),
    (condition("seen_at", "within_last", "7"), "filter.value", "whole number of days"),
    (condition("seen_at", "within_last", 1.5), "filter.value", "whole number of days"),
    (condition("seen_at", "within_last", True), "filter.value", "whole number of days"),
    ({"not": {"any": [condition("name", "eq", "x"), condition("score", "gt", "x")]}},
     "filter.not.any[1].value", "needs a number"),
]  # fmt: skip
