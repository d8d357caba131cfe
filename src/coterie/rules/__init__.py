"""One filter language for groups, audiences, table filters and SCIM `filter=`.

Domains describe their fields in a `FieldCatalog`; rules arrive as SCIM text or a JSON tree
(`parse_filter`), and compile to a SQL WHERE clause that validates as it goes (`to_sql`).
"""

from coterie.rules.fields import (
    OPERATORS,
    FieldCatalog,
    FieldSpec,
    FieldType,
    Operator,
    format_date,
    format_datetime,
)
from coterie.rules.sql import to_sql
from coterie.rules.text import parse_filter, parse_text, to_text
from coterie.rules.tree import Rule, parse_tree, to_json

__all__ = [
    "OPERATORS",
    "FieldCatalog",
    "FieldSpec",
    "FieldType",
    "Operator",
    "Rule",
    "format_date",
    "format_datetime",
    "parse_filter",
    "parse_text",
    "parse_tree",
    "to_json",
    "to_sql",
    "to_text",
]
