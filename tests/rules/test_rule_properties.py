"""Property: for random people and random valid rules, `to_sql` and `to_predicate` agree.

Each example inserts a few random people (NULLs, unset and wrong-typed JSON values, mixed case,
accented, Greek and Cyrillic letters, `%`, `_` and `\\` in texts, instants on day and
within_last boundaries, group memberships) into empty tables, builds a random valid rule from the
catalog (nested `all`/`any`/`not` up to depth 3, values often taken from the people), and checks
on SQLite and PostgreSQL that every clause of it is TRUE in SQL for exactly the people for whom
the Python evaluator (`explain`, clause by clause, and `to_predicate`) says it holds. The
transaction is rolled back, so the tables are empty again for the next example.

Each run draws its rules from one group of fields (`rule_strategies.GROUPS_OF_FIELDS`), so that
every field is tested as often as the others: Hypothesis favours its first choices.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, event, given, reject, settings
from hypothesis import strategies as st
from rule_strategies import GROUPS_OF_FIELDS, focus_of, people, rules
from rule_tables import NOW, Arena

from coterie import errors
from coterie.rules import (
    Explanation,
    FieldCatalog,
    Rule,
    explain,
    parse_text,
    parse_tree,
    to_predicate,
    to_text,
)
from coterie.rules.tree import children

SETTINGS = settings(
    max_examples=30,  # per group of fields, so 180 per database
    deadline=None,
    database=None,  # nothing written into the repository
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_every_field_is_in_a_group(catalog: FieldCatalog) -> None:
    tested = {name for names in GROUPS_OF_FIELDS.values() for name in names}
    assert tested == {spec.name for spec in catalog} | {"member_of"}


def clauses(rule: Rule) -> list[Rule]:
    """The rule and every clause under it, depth first: the order of `flatten`."""
    return [rule, *(clause for child in children(rule) for clause in clauses(child))]


def flatten(explanation: Explanation) -> list[Explanation]:
    return [explanation, *(e for clause in explanation.clauses for e in flatten(clause))]


@pytest.mark.parametrize("group", GROUPS_OF_FIELDS)
@SETTINGS
@given(data=st.data())
def test_sql_and_python_agree_on_every_clause(
    arena: Arena, group: str, data: st.DataObject
) -> None:
    focus = focus_of(arena.catalog, group)
    drawn = data.draw(people(focus), label="people")
    records = [record for record, _ in drawn]
    rule = parse_tree(data.draw(rules(focus, records), label="rule"))
    in_sql = arena.outcomes(clauses(rule), [row for _, row in drawn], now=NOW)
    matches = to_predicate(rule, arena.catalog, now=NOW)
    for record in records:
        explained = [e.matched for e in flatten(explain(rule, arena.catalog, record, now=NOW))]
        assert (in_sql[record["id"]], matches(record)) == (tuple(explained), explained[0]), record
    matched = sum(matches(record) for record in records)
    event(f"matched {'none' if not matched else 'all' if matched == len(records) else 'some'}")


@pytest.mark.parametrize("group", GROUPS_OF_FIELDS)
@SETTINGS
@given(data=st.data())
def test_the_text_form_means_the_same(
    catalog: FieldCatalog, group: str, data: st.DataObject
) -> None:
    """A rule written as SCIM text (`to_text`) and read back selects the same people."""
    focus = focus_of(catalog, group)
    records = [record for record, _ in data.draw(people(focus), label="people")]
    rule = parse_tree(data.draw(rules(focus, records), label="rule"))
    try:
        text = to_text(rule)
    except errors.Invalid:
        reject()  # within_last and the multi_enum any/all have no SCIM form
    original = to_predicate(rule, catalog, now=NOW)
    reread = to_predicate(parse_text(text), catalog, now=NOW)
    assert [reread(r) for r in records] == [original(r) for r in records], text
