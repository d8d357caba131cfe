"""What a rule depends on: the groups it names and the fields it reads."""

from __future__ import annotations

import pytest
from rule_cases import condition

from coterie import errors
from coterie.rules import FieldCatalog, fields_read, parse_text, parse_tree, referenced_groups

NESTED = parse_tree(
    {
        "all": [
            condition("member_of", "eq", "g1"),
            {"not": condition("Member_Of", "in", ["g2", "g3", "g2"])},
            {
                "any": [
                    condition("member_of", "not_in", ["g4"]),
                    {"not": {"not": condition("member_of", "ne", "g5")}},
                    condition("Name", "eq", "g6"),
                    condition("attributes.tags", "any", ["a"]),
                ]
            },
        ]
    }
)


def test_referenced_groups() -> None:
    assert referenced_groups(NESTED) == {"g1", "g2", "g3", "g4", "g5"}
    assert referenced_groups(parse_text('name eq "g1"')) == set()
    assert referenced_groups(parse_text('member_of eq "g1" or member_of eq "g2"')) == {"g1", "g2"}


def test_referenced_groups_reads_unchecked_rules() -> None:
    """Ids of the wrong type are not group ids; checking them is `to_sql`'s job."""
    rule = parse_tree(
        {"any": [condition("member_of", "in", ["g1", 2]), condition("member_of", "eq", 3)]}
    )
    assert referenced_groups(rule) == {"g1"}


def test_fields_read() -> None:
    assert fields_read(NESTED) == {"member_of", "name", "attributes.tags"}
    assert fields_read(parse_text("SCORE gt 1 and not (phone pr)")) == {"score", "phone"}


def test_fields_read_with_a_catalog_uses_registered_names(catalog: FieldCatalog) -> None:
    assert fields_read(parse_text('Seen_On eq "2024-01-01" or member_of eq "x"'), catalog) == {
        "seen_on",
        "member_of",
    }
    with pytest.raises(errors.Invalid) as caught:
        fields_read(parse_text("name pr and (score pr or nope pr)"), catalog)
    assert caught.value.errors[0].field == "filter.all[1].any[1].field"
