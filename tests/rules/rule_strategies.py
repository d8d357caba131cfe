"""Hypothesis strategies for rule property tests: awkward people, and valid rules over them.

People get values only for a few focus fields (a group of `GROUPS_OF_FIELDS`) so that those
values meet; rule values are often taken from what the people hold, so that rules hit them.
Text leaves out the two letters where Python's `str.lower` and PostgreSQL's `lower()` differ
(docs/rules.md): `İ`, and `Σ`, which Python lower-cases to `ς` at the end of a word.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from hypothesis import strategies as st
from rule_tables import GROUP_IDS
from sqlalchemy import null

from coterie.rules import (
    OPERATORS,
    FieldCatalog,
    FieldSpec,
    FieldType,
    Operator,
    format_date,
    format_datetime,
)
from coterie.rules.python import record_key

# Letters where Python's str.lower and PostgreSQL's lower() (C.UTF-8) agree: no sigma, no İ.
LATIN_1 = "".join(chr(c) for c in range(0xC0, 0x100) if chr(c).isalpha())
GREEK = "".join(chr(c) for c in range(0x386, 0x3CF) if chr(c).isalpha() and chr(c) not in "Σσς")
CYRILLIC = "".join(chr(c) for c in range(0x400, 0x460))
ALPHABET = "aBz09 %_\\/.-@µ" + LATIN_1 + GREEK + CYRILLIC
WORDS = ["Émile", "ÉMILE", "émile", "Ölaf", "Zoë", "Ångström", "Straße", "STRASSE", "µm",
         "Αθήνα", "Москва", "ёлка", "100%", "50% off", "a_b", "a\\b", "%", "_", "\\", "Pro",
         "x"]  # fmt: skip
CASINGS: list[Callable[[str], str]] = [str, str, str.lower, str.upper, str.title, str.swapcase]
PHONES = ["+447911123456", "+447911123457", "+33123456789", "+15550001", "+15550002"]
RAW_PHONES = ["07911 123456", "+44 7911 123457", "+33 1 23 45 67 89", "+1 555 0001"]
EMAILS = ["olaf@example.com", "Mixed@Example.com", "émile@example.fr", "a_b%c@x.org"]
# JSON values of the wrong type for a field, the likeliest first: what a type change leaves.
NOT_TEXT = [3, True, ["a"], {"x": 1}, 2.5]
NOT_NUMBER = ["5", True, False, "4.5", [1]]
NOT_BOOLEAN = ["true", 1, 0, "false", None]
NOT_DATE = [20240101, True, ["2024-06-01"], 1.5]
NOT_ARRAY = ["a", {"a": 1}, 3, True]
GROUPS = list(GROUP_IDS[:3])  # g4 is known but has no members
DAYS = [date(2024, 6, 15) - timedelta(days=n) for n in range(-5, 45)]
TODAY_SECONDS = [0, 1, 43199, 43200, 43201, 86399]  # NOW is 12:00:00 UTC


def recased(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda text, casing: casing(text), strategy, st.sampled_from(CASINGS))


texts = recased(st.sampled_from(WORDS)) | st.text(ALPHABET, max_size=6)
days = st.sampled_from(DAYS)
moments = st.builds(
    lambda day, seconds, micro: (
        datetime.combine(day, time(), UTC) + timedelta(seconds=seconds, microseconds=micro)
    ),
    days,
    st.sampled_from(TODAY_SECONDS) | st.integers(0, 86399),
    st.sampled_from([0, 0, 1, 999_999]),
)
quarters = st.integers(-40, 400).map(lambda n: n / 4)
numbers = quarters | st.integers(-10, 120) | st.sampled_from([0.1, 0.3, 1e6, -0.0])
integers = st.integers(-20, 120)
# multi_enum arrays as the directory stores them, and as it never should.
tag_lists = st.lists(st.sampled_from(["a", "b", "c", "news"]), max_size=4) | st.sampled_from(
    [[1, "a"], ["A"], [], [["a"]], [None, "b"]]
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return strategy | strategy | st.none()


def custom(good: st.SearchStrategy[Any], wrong: list[Any]) -> st.SearchStrategy[Any]:
    """A custom field's stored value: well-typed mostly, else the wrong type or JSON null."""
    return good | good | st.sampled_from(wrong) | st.none()


ATTRIBUTES: dict[str, st.SearchStrategy[Any]] = {
    "plan": custom(st.sampled_from(["Free", "Pro", "Premium", "pro", "Gold"]), NOT_TEXT),
    "city": custom(texts, NOT_TEXT),
    "seats": custom(integers, [2.5, 2.0, *NOT_NUMBER]),  # 2.0 is a number, not an integer
    "rating": custom(numbers, NOT_NUMBER),
    "vip": custom(st.booleans(), NOT_BOOLEAN),
    "since": custom(
        days.map(format_date) | moments.map(format_datetime) | st.just("soon"), NOT_DATE
    ),
    "renewal": custom(
        moments.map(format_datetime) | days.map(format_date) | st.just("soon"), NOT_DATE
    ),
    "tags": custom(tag_lists, NOT_ARRAY),
    "email": custom(st.sampled_from(EMAILS), NOT_TEXT),
    "site": custom(texts, NOT_TEXT),
}


COLUMNS: dict[str, st.SearchStrategy[Any]] = {
    "name": texts,
    "phone": st.sampled_from(PHONES),
    "score": numbers,
    "seen_at": moments,
    "active": st.booleans(),
    "joined": days,
    "labels": tag_lists,
}
# The fields each run tests together (`member_of` is a field here too); fields sharing a column or
# a type go together, so their values meet. Every field of the catalog is in a group.
GROUPS_OF_FIELDS = {
    "texts": ("name", "attributes.city", "member_of"),
    "exact": ("phone", "attributes.email", "attributes.site", "attributes.plan"),
    "numbers": ("score", "attributes.seats", "attributes.rating", "active", "attributes.vip"),
    "dates": ("seen_at", "seen_on", "joined"),
    "json_dates": ("attributes.since", "attributes.renewal", "member_of"),
    "multi_enum": ("attributes.tags", "labels", "name"),
}
Focus = list[FieldSpec | None]  # the fields of a group; None is member_of


def focus_of(catalog: FieldCatalog, group: str) -> Focus:
    names = GROUPS_OF_FIELDS[group]
    return [None if name == "member_of" else catalog.get(name, at="") for name in names]


@st.composite
def people(draw: st.DrawFn, focus: Focus) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Random people as (record, insert values), with values for the focus fields only.

    A JSON column's None is SQL NULL or JSON null at random, and the attributes column is
    sometimes no JSON object at all.
    """
    columns = {record_key(spec) for spec in focus if spec and not spec.json_key}
    keys = [spec.json_key for spec in focus if spec and spec.json_key]
    found = []
    for id_ in range(1, draw(st.integers(3, 10)) + 1):
        record: dict[str, Any] = dict.fromkeys(COLUMNS) | {"id": id_, "attributes": None}
        for column in columns:
            record[column] = draw(maybe(COLUMNS[column]))
        if keys:
            kind = draw(st.sampled_from(["object", "object", "object", "none", "other"]))
            if kind == "object":
                present = draw(st.lists(st.sampled_from(keys), unique=True, max_size=len(keys)))
                record["attributes"] = {key: draw(ATTRIBUTES[key]) for key in present}
            elif kind == "other":
                record["attributes"] = draw(st.sampled_from(["x", [1], 3]))
        in_focus = None in focus
        record["member_of"] = set(draw(st.lists(st.sampled_from(GROUPS)))) if in_focus else set()
        row = dict(record)
        for column in ("attributes", "labels"):
            if record[column] is None and draw(st.booleans()):
                row[column] = null()
        found.append((record, row))
    return found


def stored_values(records: list[dict[str, Any]], spec: FieldSpec) -> list[Any]:
    """The values people hold for a field, to draw rule values that hit them."""
    values = [record[record_key(spec)] for record in records]
    if spec.json_key is not None:
        values = [v.get(spec.json_key) if isinstance(v, dict) else None for v in values]
    return [v for v in values if v is not None]


def iso_forms(moment: datetime) -> st.SearchStrategy[str]:
    """A datetime as a rule may write it: Z, +00:00, another offset, with or without fraction."""
    plus_two = timezone(timedelta(hours=2))
    return st.sampled_from(
        [
            format_datetime(moment),
            moment.isoformat(),
            moment.astimezone(plus_two).isoformat(),
            moment.date().isoformat(),
        ]
    )


def scalar(spec: FieldSpec, op: Operator, seen: list[Any]) -> st.SearchStrategy[Any]:
    """One well-typed rule value for the field, often one a person holds."""
    kind = spec.type
    strings = [v for v in seen if isinstance(v, str)]
    if kind is FieldType.PHONE:
        if op in (Operator.CONTAINS, Operator.STARTS_WITH, Operator.ENDS_WITH):
            return st.sampled_from(["7911", "+1", "555", "89", "+44", "0001"])
        return st.sampled_from(PHONES + RAW_PHONES)
    if kind in (FieldType.ENUM, FieldType.MULTI_ENUM):
        return recased(st.sampled_from(spec.options))
    if kind in (FieldType.NUMBER, FieldType.INTEGER):
        pool = integers if kind is FieldType.INTEGER else numbers
        held = [v for v in seen if isinstance(v, int | float) and not isinstance(v, bool)]
        if kind is FieldType.INTEGER:
            held = [v for v in held if float(v).is_integer()]
        return pool | (st.sampled_from(held) if held else pool)
    if kind is FieldType.BOOLEAN:
        return st.booleans()
    if kind in (FieldType.DATE, FieldType.DATETIME):
        day_texts = days.map(format_date)
        if kind is FieldType.DATE:
            return day_texts
        instants = [v for v in seen if isinstance(v, datetime)]
        instants += [datetime.fromisoformat(v) for v in strings if v.endswith("Z")]
        pool = moments if not instants else moments | st.sampled_from(instants)
        return day_texts | pool.flatmap(iso_forms)
    base = texts if not strings else texts | st.sampled_from(strings)
    if kind is FieldType.EMAIL:
        base = base | st.sampled_from(EMAILS)
    value = recased(base)
    if op in (Operator.CONTAINS, Operator.STARTS_WITH, Operator.ENDS_WITH):
        return st.builds(_slice, value, st.integers(0, 5), st.integers(1, 6)).filter(bool)
    return value


def _slice(text: str, start: int, length: int) -> str:
    return text[start : start + length]


def _start(text: str) -> datetime:
    day_or_moment = datetime.fromisoformat(text)
    return day_or_moment if day_or_moment.tzinfo else day_or_moment.replace(tzinfo=UTC)


@st.composite
def conditions(draw: st.DrawFn, focus: Focus, records: list[dict[str, Any]]) -> Any:
    """A valid condition on one of the focus fields (None is `member_of`)."""
    spec = draw(st.sampled_from(focus))
    if spec is None:
        op = draw(st.sampled_from(["eq", "ne", "in", "not_in"]))
        groups = st.sampled_from([*GROUP_IDS])
        value = draw(groups if op in ("eq", "ne") else st.lists(groups, min_size=1, max_size=3))
        return {
            "field": draw(st.sampled_from(["member_of", "Member_Of"])),
            "op": op,
            "value": value,
        }
    op = draw(st.sampled_from(sorted(OPERATORS[spec.type])))
    found: dict[str, Any] = {"field": spec.name, "op": str(op)}
    seen = stored_values(records, spec)
    if op in (Operator.IS_SET, Operator.IS_NOT_SET):
        return found
    if op in (Operator.WITHIN_LAST, Operator.NOT_WITHIN_LAST):
        found["value"] = draw(st.sampled_from([1, 7, 30]) | st.integers(1, 45))
    elif op in (Operator.IN, Operator.NOT_IN, Operator.ANY, Operator.ALL):
        found["value"] = draw(st.lists(scalar(spec, op, seen), min_size=1, max_size=3))
    elif op is Operator.BETWEEN:
        pair = draw(st.lists(scalar(spec, op, seen), min_size=2, max_size=2))
        if spec.type in (FieldType.DATE, FieldType.DATETIME):
            pair.sort(key=_start)
        else:
            pair.sort()
        found["value"] = pair
    else:
        found["value"] = draw(scalar(spec, op, seen))
    return found


@st.composite
def rules(draw: st.DrawFn, focus: Focus, records: list[dict[str, Any]], depth: int = 3) -> Any:
    """A rule tree up to `depth` levels deep over the focus fields."""
    # Branches come first: the choice Hypothesis favours should not make every tree a leaf.
    kind = draw(st.sampled_from(["all", "any", "not", "condition"])) if depth > 1 else "condition"
    if kind == "condition":
        return draw(conditions(focus, records))
    if kind == "not":
        return {"not": draw(rules(focus, records, depth - 1))}
    return {kind: draw(st.lists(rules(focus, records, depth - 1), min_size=2, max_size=3))}
