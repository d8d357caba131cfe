"""Suggesting and checking how an imported file's columns map to a person's fields."""

from __future__ import annotations

import pytest

from coterie.directory.models import Field
from coterie.errors import Invalid
from coterie.transfer.mapping import (
    SYSTEM_TARGETS,
    Mapping,
    NewField,
    check,
    custom_keys,
    dropped,
    kept,
    outside_form,
    suggest,
)

FIELDS = [
    Field(key="city", label="Town", type="text", options=[]),
    Field(key="tier", label="Loyalty Tier", type="enum", options=["Gold", "Silver"]),
    Field(key="work_email", label="Work email", type="email", options=[]),
]


def test_system_targets_are_in_the_documented_order() -> None:
    assert list(SYSTEM_TARGETS) == [
        "full_name",
        "first_name",
        "last_name",
        "phone",
        "email",
        "whatsapp",
        "instagram",
        "external_id",
        "primary_channel",
        "nicknames",
        "source_ref",
        "last_activity_at",
    ]


@pytest.mark.parametrize(
    ("header", "target"),
    [
        ("E-mail", "email"),
        ("Email Address", "email"),
        ("Mail", "email"),
        ("Correo", "email"),
        ("Correo electrónico", "email"),
        ("E-Mail-Adresse", "email"),
        ("Contact Email", "email"),
        ("Phone", "phone"),
        ("Phone Number", "phone"),
        ("Mobile", "phone"),
        ("Cell", "phone"),
        ("Tel", "phone"),
        ("Tel.", "phone"),
        ("Telephone", "phone"),
        ("Teléfono", "phone"),
        ("TELÉFONO", "phone"),
        ("Número de teléfono", "phone"),
        ("Handy", "phone"),
        ("Phone 2", "phone"),
        ("Phone (mobile)", "phone"),
        ("WhatsApp", "whatsapp"),
        ("WA number", "whatsapp"),
        ("Instagram", "instagram"),
        ("IG", "instagram"),
        ("Insta handle", "instagram"),
        ("First Name", "first_name"),
        ("first_name", "first_name"),
        ("Given name", "first_name"),
        ("Prénom", "first_name"),
        ("Nombre", "first_name"),
        ("Vorname", "first_name"),
        ("Last Name", "last_name"),
        ("Surname", "last_name"),
        ("Family name", "last_name"),
        ("Apellido", "last_name"),
        ("Nachname", "last_name"),
        ("Name", "full_name"),
        ("Full Name", "full_name"),
        ("  full   name ", "full_name"),
        ("Contact", "full_name"),
        ("Customer Name", "full_name"),
        ("Customer ID", "external_id"),
        ("External ID", "external_id"),
        ("CRM id", "external_id"),
        ("Channel", "primary_channel"),
        ("Preferred channel", "primary_channel"),
        ("Nickname", "nicknames"),
        ("Last activity", "last_activity_at"),
        ("Last seen", "last_activity_at"),
        ("Lead source", "source_ref"),
        ("Town", "attributes.city"),
        ("city", "attributes.city"),
        ("Loyalty tier", "attributes.tier"),
        ("Work Email", "attributes.work_email"),
        ("Favourite colour", None),
        ("", None),
    ],
)
def test_suggest_reads_headers_from_many_tools_and_languages(header: str, target: str) -> None:
    assert suggest([header], FIELDS) == {header: target}


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (["Name", "Email"], ["full_name", "email"]),
        (["First Name", "Last Name", "Name"], ["first_name", "last_name", "full_name"]),
        (["Full Name", "Name"], ["full_name", None]),
        (["Name", "Surname"], ["first_name", "last_name"]),
        (["Prénom", "Nom"], ["first_name", "last_name"]),
        (["Name", "Vorname"], ["last_name", "first_name"]),
        (["Name", "First name", "Given name"], ["last_name", "first_name", None]),
    ],
)
def test_name_means_what_its_neighbours_leave(headers: list[str], expected: list[str]) -> None:
    assert list(suggest(headers, []).values()) == expected


def test_suggest_never_gives_a_target_twice_first_column_wins() -> None:
    headers = ["Mobile", "Phone", "E-mail", "Email 2", "Town", "City"]
    assert suggest(headers, FIELDS) == {
        "Mobile": "phone",
        "Phone": None,
        "E-mail": "email",
        "Email 2": None,
        "Town": "attributes.city",
        "City": None,
    }


def test_suggest_keeps_header_order_and_every_header() -> None:
    headers = ["Notes", "Email", "Name", "Score"]
    assert list(suggest(headers, [])) == headers


def test_dropped_names_ignored_columns_in_order() -> None:
    mapping: Mapping = {"Notes": None, "Email": "email", "Score": None, "Name": "full_name"}
    assert dropped(mapping) == ["Notes", "Score"]
    assert dropped({"Email": "email"}) == []


def test_columns_outside_the_form_are_dropped_and_no_form_keeps_every_custom_column() -> None:
    mapping: Mapping = {
        "Name": "full_name",
        "Town": "attributes.city",
        "Notes": None,
        "Score": "attributes.score",
    }
    assert custom_keys(mapping) == ["city", "score"]
    assert outside_form(mapping, {"city"}) == ["Score"]
    assert dropped(mapping, {"city"}) == ["Notes", "Score"]  # in column order
    assert kept(mapping, {"city"}) == {**mapping, "Score": None}
    assert outside_form(mapping, None) == []
    assert kept(mapping, None) == mapping
    assert dropped(mapping, set()) == ["Town", "Notes", "Score"]  # a form without fields


HEADERS = ["Name", "Email", "Phone", "City", "Score", "Notes"]


def _errors(
    mapping: Mapping, new_fields: list[NewField] | None = None, headers: list[str] = HEADERS
) -> dict[str, str]:
    with pytest.raises(Invalid) as caught:
        check(mapping, headers, FIELDS, new_fields or [])
    return {e.field: e.message for e in caught.value.errors}


def test_a_complete_mapping_passes() -> None:
    mapping: Mapping = {
        "Name": "full_name",
        "Email": "email",
        "Phone": "phone",
        "City": "attributes.city",
        "Score": "attributes.score",
        "Notes": None,
    }
    check(mapping, HEADERS, FIELDS, [NewField("score", "Score", "integer")])


def test_unknown_target() -> None:
    errors = _errors({"Name": "full_name", "Email": "email", "Notes": "favourite_colour"})
    assert errors == {
        "mapping.Notes": "'favourite_colour' is not a field a column can be mapped to"
    }


def test_a_target_used_twice() -> None:
    errors = _errors({"Name": "full_name", "Email": "email", "Phone": "email"})
    assert errors == {"mapping.Phone": "Email is already mapped from column 'Email'"}


def test_custom_target_that_is_neither_existing_nor_new() -> None:
    errors = _errors({"Name": "full_name", "Email": "email", "Score": "attributes.score"})
    assert errors == {
        "mapping.Score": "'attributes.score' is neither an existing field nor a new one"
    }


def test_header_not_in_the_file() -> None:
    errors = _errors({"Name": "full_name", "Email": "email", "Mobile": "phone"})
    assert errors == {"mapping.Mobile": "There is no column 'Mobile' in the file"}


@pytest.mark.parametrize(
    ("new", "field", "message"),
    [
        (NewField("city", "City", "text"), "key", "A field with key 'city' already exists"),
        (NewField("Score", "Score", "integer"), "key", "'Score' is not a valid key"),
        (NewField("2nd", "Score", "integer"), "key", "'2nd' is not a valid key"),
        (NewField("score", " ", "integer"), "label", "A new field needs a label"),
        (NewField("score", "Score", "money"), "type", "'money' is not a field type"),
        (NewField("score", "Score", "enum"), "options", "An enum field needs a list"),
        (NewField("score", "Score", "multi_enum", options=("a", " ")), "options", "non-empty"),
        (NewField("score", "Score", "enum", options=("a", "a")), "options", "must be unique"),
        (NewField("score", "Score", "text", options=("a",)), "options", "takes no options"),
    ],
)
def test_bad_new_fields(new: NewField, field: str, message: str) -> None:
    mapping: Mapping = {"Name": "full_name", "Email": "email", "Score": f"attributes.{new.key}"}
    errors = _errors(mapping, [new])
    assert message in errors[f"new_fields.0.{field}"]


def test_a_new_field_defined_twice() -> None:
    mapping: Mapping = {"Name": "full_name", "Email": "email", "Score": "attributes.score"}
    twice = [NewField("score", "Score", "integer"), NewField("score", "Points", "number")]
    assert _errors(mapping, twice) == {"new_fields.1.key": "Field 'score' is defined twice"}


def test_missing_name_column() -> None:
    errors = _errors({"Name": "last_name", "Email": "email"})
    assert errors == {"mapping": "Map at least one column to Full name or First name"}


@pytest.mark.parametrize("name", ["full_name", "first_name"])
def test_either_name_column_is_enough(name: str) -> None:
    check({"Name": name, "Email": "email"}, HEADERS, FIELDS, [])


@pytest.mark.parametrize("contact", ["phone", "email", "whatsapp", "instagram"])
def test_any_contact_column_is_enough(contact: str) -> None:
    check({"Name": "full_name", "Phone": contact}, HEADERS, FIELDS, [])


def test_external_id_alone_is_not_a_contact() -> None:
    errors = _errors({"Name": "full_name", "Phone": "external_id", "Email": None})
    assert errors == {
        "mapping": "Map at least one contact column: Phone, Email, WhatsApp or Instagram"
    }


def test_every_problem_is_listed_at_once() -> None:
    mapping: Mapping = {
        "Name": "nickname",
        "Email": "attributes.nope",
        "Phone": "last_name",
        "City": "last_name",
        "Ghost": None,
    }
    with pytest.raises(Invalid) as caught:
        check(mapping, HEADERS, FIELDS, [NewField("city", "City", "text")])
    assert [e.field for e in caught.value.errors] == [
        "new_fields.0.key",
        "mapping.Name",
        "mapping.Email",
        "mapping.City",
        "mapping.Ghost",
        "mapping",
        "mapping",
    ]
