"""Field specs, the catalog domains register, and the storage formats of JSON dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, MetaData, Table, Text

from coterie import errors
from coterie.rules import (
    FieldCatalog,
    FieldSpec,
    FieldType,
    Operator,
    format_date,
    format_datetime,
)
from coterie.rules.fields import OPERATORS

COLUMN = Table("t", MetaData(), Column("name", Text), Column("attributes", Text)).c


def spec(name: str, kind: FieldType = FieldType.TEXT) -> FieldSpec:
    return FieldSpec(name, kind, COLUMN.name)


def test_every_type_has_operators() -> None:
    assert set(OPERATORS) == set(FieldType)
    assert Operator.GT not in OPERATORS[FieldType.TEXT]
    assert Operator.CONTAINS in OPERATORS[FieldType.MULTI_ENUM]
    assert Operator.WITHIN_LAST in OPERATORS[FieldType.DATETIME]
    assert Operator("in") is Operator.IN


def test_catalog_lookup_is_case_insensitive() -> None:
    catalog = FieldCatalog([spec("full_name"), spec("attributes.plan")])
    assert catalog.get("Full_Name", at="f").name == "full_name"
    assert "ATTRIBUTES.PLAN" in catalog
    assert "nope" not in catalog
    assert [s.name for s in catalog] == ["full_name", "attributes.plan"]
    assert len(catalog) == 2


def test_unknown_field_lists_the_few_known_ones() -> None:
    catalog = FieldCatalog([spec("b"), spec("a")])
    with pytest.raises(errors.Invalid) as caught:
        catalog.get("c", at="filter.all[0].field")
    assert caught.value.errors[0].field == "filter.all[0].field"
    assert caught.value.detail == "unknown field 'c'; known fields: a, b"


def test_unknown_field_suggests_among_many() -> None:
    catalog = FieldCatalog([spec(f"field_{n}") for n in range(20)] + [spec("last_activity_at")])
    with pytest.raises(errors.Invalid, match="did you mean 'last_activity_at'"):
        catalog.get("last_activty_at", at="f")


def test_catalog_refuses_duplicates() -> None:
    with pytest.raises(ValueError, match="twice"):
        FieldCatalog([spec("name"), spec("NAME")])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "", "type": FieldType.TEXT}, "needs a name"),
        ({"name": "p", "type": FieldType.ENUM}, "needs options"),
        ({"name": "p", "type": FieldType.MULTI_ENUM}, "needs options"),
        ({"name": "p", "type": FieldType.TEXT, "options": ("a",)}, "only enum"),
        ({"name": "p", "type": FieldType.TEXT, "json_key": "a.b"}, "plain key"),
        ({"name": "p", "type": FieldType.TEXT, "json_key": 'a"'}, "plain key"),
    ],
)
def test_field_spec_checks_itself(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FieldSpec(column=COLUMN.attributes, **kwargs)  # type: ignore[arg-type]


def test_options_are_the_fourth_argument() -> None:
    plan = FieldSpec("plan", FieldType.ENUM, COLUMN.name, ("Free", "Pro"), label="Plan")
    assert (plan.options, plan.json_key) == (("Free", "Pro"), None)


def test_storage_formats() -> None:
    assert format_date(date(2024, 5, 1)) == "2024-05-01"
    moment = datetime(2024, 5, 1, 23, 30, 15, 999_999, tzinfo=timezone(timedelta(hours=-2)))
    assert format_datetime(moment) == "2024-05-02T01:30:15Z"
    assert format_datetime(datetime(5, 1, 2, tzinfo=UTC)) == "0005-01-02T00:00:00Z"
    with pytest.raises(ValueError, match="naive"):
        format_datetime(datetime(2024, 5, 1))
    with pytest.raises(TypeError):
        format_date(datetime(2024, 5, 1, tzinfo=UTC))
