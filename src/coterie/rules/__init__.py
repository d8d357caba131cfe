"""One filter language for groups, audiences, table filters and SCIM `filter=`.

Domains describe their fields in a `FieldCatalog` (and plug in `member_of` with a
`MembershipSource`); rules arrive as SCIM text or a JSON tree (`parse_filter`), and compile,
validating as they go, to a SQL WHERE clause (`to_sql`) or to a Python predicate over one record
(`to_predicate`). The two share validation and meaning; `explain` shows a rule's outcome clause by
clause for one person.
"""

from coterie.rules.dependencies import fields_read, is_time_relative, referenced_groups
from coterie.rules.explain import Explanation, explain
from coterie.rules.fields import (
    MEMBER_OF,
    OPERATORS,
    FieldCatalog,
    FieldSpec,
    FieldType,
    MembershipSource,
    Operator,
    format_date,
    format_datetime,
)
from coterie.rules.python import Record, to_predicate
from coterie.rules.sql import to_sql
from coterie.rules.text import parse_filter, parse_text, to_text
from coterie.rules.tree import Rule, parse_tree, to_json

__all__ = [
    "MEMBER_OF",
    "OPERATORS",
    "Explanation",
    "FieldCatalog",
    "FieldSpec",
    "FieldType",
    "MembershipSource",
    "Operator",
    "Record",
    "Rule",
    "explain",
    "fields_read",
    "format_date",
    "format_datetime",
    "is_time_relative",
    "parse_filter",
    "parse_text",
    "parse_tree",
    "referenced_groups",
    "to_json",
    "to_predicate",
    "to_sql",
    "to_text",
]
