"""Turning imported rows into people in stored form, each bad cell reported with its column."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from coterie.directory.models import Field
from coterie.errors import Invalid
from coterie.transfer.mapping import Mapping, NewField
from coterie.transfer.normalize import NO_CONTACT, NO_NAME, Normalized, RowNormalizer

UK_MOBILE = "+447911123456"


def _field(key: str, kind: str, options: Sequence[str] = ()) -> Field:
    return Field(key=key, label=key.title(), type=kind, options=list(options))


FIELDS = [
    _field("city", "text"),
    _field("score", "number"),
    _field("visits", "integer"),
    _field("vip", "boolean"),
    _field("birthday", "date"),
    _field("signed_up", "datetime"),
    _field("tier", "enum", ["Gold", "Silver"]),
    _field("tags", "multi_enum", ["Red", "Green", "Blue"]),
    _field("office", "phone"),
    _field("billing", "email"),
    _field("site", "url"),
]


def _normalizer(
    mapping: Mapping, *, new_fields: Sequence[NewField] = (), region: str = "GB"
) -> RowNormalizer:
    return RowNormalizer(mapping, list(mapping), FIELDS, new_fields, region=region)


def _one(target: str, cell: Any, *, region: str = "GB") -> Normalized:
    """A row with a name and a contact, plus `cell` in a column mapped to `target`."""
    contact, raw = ("phone", UK_MOBILE) if target == "email" else ("email", "ann@example.com")
    normalize = _normalizer(
        {"Name": "full_name", "Contact": contact, "Value": target}, region=region
    )
    return normalize(["Ann", raw, cell])


def _value(target: str, cell: Any, *, region: str = "GB") -> Any:
    result = _one(target, cell, region=region)
    assert result.errors == ()
    if target.startswith("attributes."):
        return result.values["attributes"][target.removeprefix("attributes.")]
    return result.values[target]


def _error(target: str, cell: Any, *, region: str = "GB") -> str:
    result = _one(target, cell, region=region)
    assert [header for header, _ in result.errors] == ["Value"]
    assert target.removeprefix("attributes.") not in result.values.get("attributes", {})
    assert target not in result.values
    return result.errors[0][1]


def test_a_full_row_becomes_a_person_in_stored_form() -> None:
    normalize = _normalizer(
        {
            "First": "first_name",
            "Last": "last_name",
            "Mobile": "phone",
            "Mail": "email",
            "WA": "whatsapp",
            "IG": "instagram",
            "CRM": "external_id",
            "Channel": "primary_channel",
            "Aliases": "nicknames",
            "Source": "source_ref",
            "Seen": "last_activity_at",
            "Town": "attributes.city",
            "Notes": None,
        }
    )
    result = normalize(
        [
            " Ann ",
            "Smith",
            "07911 123456",
            "Ann.Smith@Example.COM",
            "+44 7911 123457",
            "@Ann.Smith",
            "CRM-1",
            "WhatsApp",
            "Annie; Nan",
            "spring fair",
            "2024-05-01 09:30",
            "London",
            "ignored",
        ]
    )
    assert result.errors == ()
    assert result.values == {
        "first_name": "Ann",
        "last_name": "Smith",
        "full_name": "Ann Smith",
        "phone": UK_MOBILE,
        "email": "ann.smith@example.com",
        "whatsapp": "+447911123457",
        "instagram": "ann.smith",
        "external_id": "CRM-1",
        "primary_channel": "whatsapp",
        "nicknames": ["Annie", "Nan"],
        "source_ref": "spring fair",
        "last_activity_at": datetime(2024, 5, 1, 9, 30, tzinfo=UTC),
        "attributes": {"city": "London"},
    }
    assert result.identifiers == {
        "phone": UK_MOBILE,
        "email": "ann.smith@example.com",
        "whatsapp": "+447911123457",
        "instagram": "ann.smith",
        "external_id": "CRM-1",
    }


def test_empty_cells_are_absent() -> None:
    normalize = _normalizer(
        {"Name": "full_name", "Email": "email", "Phone": "phone", "Town": "attributes.city"}
    )
    result = normalize(["Ann", "ann@example.com", "   ", None])
    assert result.values == {"full_name": "Ann", "email": "ann@example.com"}
    assert result.errors == ()
    assert result.identifiers == {"email": "ann@example.com"}


def test_short_rows_are_padded() -> None:
    normalize = _normalizer({"Name": "full_name", "Email": "email", "Town": "attributes.city"})
    assert normalize(["Ann", "ann@example.com"]).values == {
        "full_name": "Ann",
        "email": "ann@example.com",
    }


# --- names ---------------------------------------------------------------------------------


def test_full_name_is_derived_from_first_and_last() -> None:
    normalize = _normalizer({"First": "first_name", "Last": "last_name", "Email": "email"})
    assert normalize(["Ann", "Smith", "a@example.com"]).values["full_name"] == "Ann Smith"
    assert normalize(["Ann", None, "a@example.com"]).values["full_name"] == "Ann"
    assert normalize([None, "Smith", "a@example.com"]).values["full_name"] == "Smith"


def test_a_mapped_full_name_wins_and_an_empty_one_is_derived() -> None:
    normalize = _normalizer(
        {"Full": "full_name", "First": "first_name", "Last": "last_name", "Email": "email"}
    )
    assert normalize(["Dr Ann Smith", "Ann", "Smith", "a@example.com"]).values["full_name"] == (
        "Dr Ann Smith"
    )
    assert normalize([" ", "Ann", "Smith", "a@example.com"]).values["full_name"] == "Ann Smith"


def test_no_name_is_an_error_on_the_name_column() -> None:
    normalize = _normalizer({"Last": "last_name", "First": "first_name", "Email": "email"})
    assert normalize([None, None, "a@example.com"]).errors == (("First", NO_NAME),)


def test_a_derived_full_name_must_fit_its_column() -> None:
    normalize = _normalizer({"First": "first_name", "Last": "last_name", "Email": "email"})
    result = normalize(["a" * 150, "b" * 150, "a@example.com"])
    assert result.errors == (("First", "longer than 300 characters"),)


def test_text_longer_than_its_column_is_refused() -> None:
    assert _error("first_name", "x" * 151) == "longer than 150 characters"
    assert _value("source_ref", "y" * 300) == "y" * 300


def test_numbers_in_text_columns_read_as_typed() -> None:
    assert _value("external_id", 12345) == "12345"
    assert _value("source_ref", 1.5) == "1.5"
    assert _value("attributes.city", date(2024, 1, 2)) == "2024-01-02"
    assert _value("attributes.city", True) == "true"


# --- identifiers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "region", "stored"),
    [
        ("07911 123456", "GB", UK_MOBILE),
        ("+44 (0)7911 123456", "US", UK_MOBILE),
        ("0044 7911 123456", "GB", UK_MOBILE),
        ("(415) 555-0123", "US", "+14155550123"),
        ("+1 415 555 0123", "GB", "+14155550123"),
        (447911123456, "US", UK_MOBILE),
        (447911123456.0, "US", UK_MOBILE),
        (7911123456, "GB", UK_MOBILE),
        ("447911123456", "US", UK_MOBILE),
        (14155550123, "GB", "+14155550123"),
    ],
)
@pytest.mark.parametrize("target", ["phone", "whatsapp"])
def test_phone_numbers_national_international_and_spreadsheet_numbers(
    target: str, cell: Any, region: str, stored: str
) -> None:
    assert _value(target, cell, region=region) == stored


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("abc", "'abc' is not a phone number"),
        ("12", "'12' is not a valid phone number for region GB"),
        (12, "'12' is not a valid phone number for region GB"),
        (4.5, "4.5 is not a phone number"),
        (True, "True is not a phone number"),
        (date(2024, 1, 2), "datetime.date(2024, 1, 2) is not a phone number"),
    ],
)
def test_bad_phone_numbers(cell: Any, message: str) -> None:
    assert _error("phone", cell) == message


def test_emails_are_checked_and_lower_cased() -> None:
    assert _value("email", "  Ann.Smith@Example.COM ") == "ann.smith@example.com"
    assert _value("email", "mailto:Bob@Example.com") == "bob@example.com"
    assert _error("email", "not-an-email").startswith("'not-an-email' is not a valid email")
    assert _error("email", 42) == "42 is not an email address"


def test_instagram_handles_and_profile_links() -> None:
    assert _value("instagram", "@Ann_Smith") == "ann_smith"
    assert _value("instagram", "https://www.instagram.com/Ann.Smith/?hl=en") == "ann.smith"
    assert _error("instagram", "ann smith").startswith("'ann smith' is not an Instagram handle")


def test_external_id_is_kept_as_text() -> None:
    assert _value("external_id", " CUST-0042 ") == "CUST-0042"
    assert _error("external_id", "x" * 201) == "longer than 200 characters"


# --- other system fields ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "channel"),
    [
        ("WhatsApp", "whatsapp"),
        ("e-mail", "email"),
        ("EMAIL", "email"),
        ("SMS", "sms"),
        ("Instagram", "instagram"),
        ("phone", "phone"),
    ],
)
def test_primary_channel_spellings(cell: str, channel: str) -> None:
    assert _value("primary_channel", cell) == channel


def test_unknown_channel() -> None:
    assert _error("primary_channel", "Fax") == (
        "'Fax' is not a channel: whatsapp, instagram, email, phone, sms"
    )


def test_nicknames_split_on_commas_and_semicolons() -> None:
    assert _value("nicknames", "Annie, Nan;Ann-Marie ; Annie") == ["Annie", "Nan", "Ann-Marie"]
    assert "nicknames" not in _one("nicknames", " ;, ").values
    assert _error("nicknames", ",".join(f"n{i}" for i in range(51))) == "more than 50 nicknames"


@pytest.mark.parametrize(
    ("cell", "moment"),
    [
        (datetime(2024, 5, 1, 9, 30), datetime(2024, 5, 1, 9, 30, tzinfo=UTC)),
        (
            datetime(2024, 5, 1, 9, 30, tzinfo=timezone(timedelta(hours=2))),
            datetime(2024, 5, 1, 7, 30, tzinfo=UTC),
        ),
        (date(2024, 5, 1), datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01T09:30:00Z", datetime(2024, 5, 1, 9, 30, tzinfo=UTC)),
        ("2024-05-01T09:30:00-03:00", datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        ("01/05/2024 09:30", datetime(2024, 5, 1, 9, 30, tzinfo=UTC)),
        ("01.05.2024", datetime(2024, 5, 1, tzinfo=UTC)),
        ("1/5/2024 9:30:15", datetime(2024, 5, 1, 9, 30, 15, tzinfo=UTC)),
        ("12/31/2024", datetime(2024, 12, 31, tzinfo=UTC)),
        ("2024/05/01", datetime(2024, 5, 1, tzinfo=UTC)),
    ],
)
def test_last_activity_from_cells_and_text(cell: Any, moment: datetime) -> None:
    value = _value("last_activity_at", cell)
    assert value == moment
    assert value.tzinfo is UTC


@pytest.mark.parametrize("cell", ["yesterday", "31/02/2024", "2024-13-01", 45000])
def test_bad_last_activity(cell: Any) -> None:
    assert _error("last_activity_at", cell) == f"{cell!r} is not a date and time"


# --- custom fields -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "stored"),
    [
        (3.5, 3.5),
        (7, 7),
        ("42", 42),
        ("-1.25", -1.25),
        ("1,234.5", 1234.5),
        ("1.234,5", 1234.5),
        ("1,5", 1.5),
        ("1,234", 1234),
        ("1,234,567", 1234567),
        ("1.234.567", 1234567),
        ("1 234,50", 1234.5),
        ("1\u00a0234", 1234),
        ("1'234.5", 1234.5),
        ("2e3", 2000.0),
    ],
)
def test_numbers_as_spreadsheets_and_people_write_them(cell: Any, stored: float) -> None:
    value = _value("attributes.score", cell)
    assert value == stored
    assert type(value) is type(stored)


@pytest.mark.parametrize("cell", ["abc", "1,2,3", "nan", "inf", "1_000", "12abc", True])
def test_bad_numbers(cell: Any) -> None:
    assert _error("attributes.score", cell) == f"{cell!r} is not a number"


def test_non_finite_spreadsheet_numbers_are_refused_by_the_directory() -> None:
    assert _error("attributes.score", float("nan")) == "expected a number"


@pytest.mark.parametrize(("cell", "stored"), [(3, 3), (3.0, 3), ("12", 12), ("1,000", 1000)])
def test_integers(cell: Any, stored: int) -> None:
    value = _value("attributes.visits", cell)
    assert value == stored
    assert type(value) is int


def test_bad_integers() -> None:
    assert _error("attributes.visits", 2.5) == "2.5 is not a whole number"
    assert _error("attributes.visits", "2,5") == "'2,5' is not a whole number"
    assert _error("attributes.visits", "many") == "'many' is not a number"


@pytest.mark.parametrize(
    "cell",
    ["yes", "Y", "TRUE", "t", "1", 1, 1.0, True, "sí", "si", "oui", "ja", "x", "Sim"],
)
def test_true(cell: Any) -> None:
    assert _value("attributes.vip", cell) is True


@pytest.mark.parametrize(
    "cell", ["no", "N", "false", "F", "0", 0, False, "non", "nein", "não", "Falso"]
)
def test_false(cell: Any) -> None:
    assert _value("attributes.vip", cell) is False


def test_bad_boolean() -> None:
    assert _error("attributes.vip", "maybe") == "'maybe' is not yes or no"
    assert _error("attributes.vip", 2) == "2 is not yes or no"


@pytest.mark.parametrize(
    "cell",
    [
        date(1990, 5, 17),
        datetime(1990, 5, 17, 0, 0),
        "1990-05-17",
        "17/05/1990",
        "17.05.1990",
        "1990/05/17",
        "1990-05-17 00:00:00",
    ],
)
def test_dates(cell: Any) -> None:
    assert _value("attributes.birthday", cell) == "1990-05-17"


@pytest.mark.parametrize("cell", ["someday", "32/01/2020", 19900517])
def test_bad_dates(cell: Any) -> None:
    assert _error("attributes.birthday", cell) == f"{cell!r} is not a date"


@pytest.mark.parametrize(
    ("cell", "stored"),
    [
        (datetime(2024, 5, 1, 9, 30), "2024-05-01T09:30:00Z"),
        (date(2024, 5, 1), "2024-05-01T00:00:00Z"),
        ("2024-05-01T09:30:00+02:00", "2024-05-01T07:30:00Z"),
        ("01/05/2024 09:30", "2024-05-01T09:30:00Z"),
    ],
)
def test_datetimes(cell: Any, stored: str) -> None:
    assert _value("attributes.signed_up", cell) == stored


def test_bad_datetime() -> None:
    assert _error("attributes.signed_up", "soon") == "'soon' is not a date and time"


def test_enum_matches_options_case_insensitively() -> None:
    assert _value("attributes.tier", "gold") == "Gold"
    assert _value("attributes.tier", " SILVER ") == "Silver"
    assert _error("attributes.tier", "Bronze") == "'Bronze' is not one of Gold, Silver"


def test_multi_enum_splits_and_matches() -> None:
    assert _value("attributes.tags", "blue, red;GREEN") == ["Red", "Green", "Blue"]
    assert _value("attributes.tags", "red,red") == ["Red"]
    assert "attributes" not in _one("attributes.tags", ",;").values
    assert _error("attributes.tags", "red, purple") == "'purple' not among Red, Green, Blue"


def test_custom_phone_email_and_url() -> None:
    assert _value("attributes.office", 447911123456, region="US") == UK_MOBILE
    assert _value("attributes.office", "07911 123456") == UK_MOBILE
    assert _error("attributes.office", "call me") == "'call me' is not a phone number"
    assert _value("attributes.billing", "Billing@Example.com") == "billing@example.com"
    assert _error("attributes.billing", "nope").startswith("'nope' is not a valid email")
    assert _value("attributes.site", "https://example.com/a") == "https://example.com/a"
    assert _value("attributes.site", "www.example.com") == "https://www.example.com"
    assert _error("attributes.site", "not a site") == "'not a site' is not an http(s) URL"


def test_text_custom_field_over_the_directory_limit() -> None:
    assert _error("attributes.city", "x" * 10_001) == "text is longer than 10,000 characters"


def test_new_fields_are_targets_like_existing_ones() -> None:
    new = [
        NewField("shoe_size", "Shoe size", "integer"),
        NewField("colour", "Colour", "enum", options=("Red", "Blue")),
    ]
    normalize = _normalizer(
        {
            "Name": "full_name",
            "Email": "email",
            "Shoe": "attributes.shoe_size",
            "Colour": "attributes.colour",
        },
        new_fields=new,
    )
    result = normalize(["Ann", "a@example.com", "38.0", "red"])
    assert result.values["attributes"] == {"shoe_size": 38, "colour": "Red"}
    assert normalize(["Ann", "a@example.com", "big", "green"]).errors == (
        ("Shoe", "'big' is not a number"),
        ("Colour", "'green' is not one of Red, Blue"),
    )


# --- row-level rules and errors -------------------------------------------------------------


def test_a_row_without_contact_is_an_error_on_the_first_contact_column() -> None:
    normalize = _normalizer(
        {"Name": "full_name", "CRM": "external_id", "Phone": "phone", "Email": "email"}
    )
    result = normalize(["Ann", "CRM-1", None, ""])
    assert result.errors == (("Phone", NO_CONTACT),)
    assert result.identifiers == {"external_id": "CRM-1"}


def test_no_contact_goes_to_a_contact_column_without_its_own_error() -> None:
    normalize = _normalizer({"Name": "full_name", "Phone": "phone", "Email": "email"})
    assert normalize(["Ann", "abc", None]).errors == (
        ("Phone", "'abc' is not a phone number"),
        ("Email", NO_CONTACT),
    )


def test_all_errors_of_a_row_are_collected_in_column_order() -> None:
    normalize = _normalizer(
        {
            "Name": "full_name",
            "Phone": "phone",
            "Email": "email",
            "Visits": "attributes.visits",
            "VIP": "attributes.vip",
            "Town": "attributes.city",
        }
    )
    result = normalize([None, "abc", "nope", "many", "maybe", "Paris"])
    assert [header for header, _ in result.errors] == [
        "Phone",
        "Email",
        "Visits",
        "VIP",
        "Name",
        "Phone",
    ]
    assert result.errors[-2:] == (("Name", NO_NAME), ("Phone", NO_CONTACT))
    assert result.values == {"attributes": {"city": "Paris"}}
    assert result.identifiers == {}


def test_row_level_errors_name_the_rule_when_no_column_is_mapped() -> None:
    normalize = _normalizer({"Notes": None, "CRM": "external_id"})
    assert normalize(["hi", "CRM-1"]).errors == (("Full name", NO_NAME), ("Contact", NO_CONTACT))


def test_an_unusable_mapping_is_refused_when_building() -> None:
    with pytest.raises(Invalid) as caught:
        _normalizer({"Name": "full_name", "Email": "nickname", "Score": "attributes.unknown"})
    assert [e.field for e in caught.value.errors] == ["mapping.Email", "mapping.Score"]
    with pytest.raises(Invalid):
        RowNormalizer({"Ghost": "email"}, ["Name"], FIELDS, [], region="GB")
