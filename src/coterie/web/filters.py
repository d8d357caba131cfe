"""The filter builder: which fields and operators it offers, and how its rows map to a rule tree.

The builder edits flat trees only, `{"all" | "any": [conditions]}`; anything deeper (typed in a
URL, or SCIM text) is shown as text and can be cleared, never silently rewritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from coterie.errors import FieldError
from coterie.rules import OPERATORS, FieldCatalog

# The order operators are offered in, with their labels in the builder.
OPERATOR_LABELS: dict[str, str] = {
    "eq": "is",
    "ne": "is not",
    "contains": "contains",
    "starts_with": "starts with",
    "ends_with": "ends with",
    "in": "is any of",
    "not_in": "is none of",
    "gt": "greater than",
    "gte": "at least",
    "lt": "less than",
    "lte": "at most",
    "between": "between",
    "before": "before",
    "after": "after",
    "within_last": "in the last",
    "not_within_last": "not in the last",
    "any": "has any of",
    "all": "has all of",
    "is_set": "is set",
    "is_not_set": "is empty",
}
_ROW = re.compile(r"^filter\.(?:all|any)\[(\d+)\](?:\.(field|op|value))?")
# The rule engine names the operator and field as stored: "gt on 'attributes.score' needs ...".
_SUBJECT = re.compile(r"^(\w+) on '([^']+)' ")


@dataclass(frozen=True)
class BuilderState:
    match: str  # "all" or "any"
    rows: list[dict[str, Any]]
    advanced: str  # a filter the builder cannot show as rows, as text


@dataclass(frozen=True)
class RowError:
    row: int | None
    part: str | None
    message: str


def field_options(catalog: FieldCatalog) -> list[dict[str, Any]]:
    """Every field the builder offers, with the operators its type allows, in a stable order."""
    result = []
    for spec in catalog:
        allowed = {str(op.value) for op in OPERATORS.get(spec.type, frozenset())}
        if not allowed & OPERATOR_LABELS.keys():
            continue  # a kind of field the builder cannot edit (it stays usable in URLs)
        result.append(
            {
                "name": spec.name,
                "label": spec.label or spec.name,
                "type": str(spec.type.value),
                "options": list(spec.options),
                "ops": [op for op in OPERATOR_LABELS if op in allowed],
                "custom": spec.name.startswith("attributes."),
            }
        )
    return result


def builder_state(tree: dict[str, Any] | None, text: str) -> BuilderState:
    if not text:
        return BuilderState("all", [], "")
    if tree is None:
        return BuilderState("all", [], text)
    if "field" in tree and "op" in tree:
        return BuilderState("all", [tree], "")
    for match in ("all", "any"):
        items = tree.get(match)
        if (
            len(tree) == 1
            and isinstance(items, list)
            and all(isinstance(c, dict) and "field" in c and "op" in c for c in items)
        ):
            return BuilderState(match, list(items), "")
    return BuilderState("all", [], text)


def row_errors(errors: list[FieldError], fields: list[dict[str, Any]]) -> list[RowError]:
    """Turn the rule engine's error paths (`filter.all[1].value`) into builder rows and parts,
    and its wording into the builder's (`“Score greater than” needs a number`)."""
    labels = {f["name"]: f["label"] for f in fields}
    found = []
    for error in errors:
        message = _SUBJECT.sub(
            lambda m: (
                f"“{labels.get(m.group(2), m.group(2))} "
                f"{OPERATOR_LABELS.get(m.group(1), m.group(1))}” "
            ),
            error.message,
        ).replace(', got ""', ", but it is empty")
        hit = _ROW.match(error.field)
        if hit:
            found.append(RowError(int(hit.group(1)), hit.group(2), message))
        else:
            found.append(RowError(None, None, message))
    return found
