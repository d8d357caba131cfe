"""Why a person is in or out: a rule's tree with each clause's outcome for one record.

It evaluates with the Python evaluator's own tests (`rules.python`), so the explanation's verdict
is the predicate's, clause by clause; unlike the predicate it does not stop at the first
deciding clause, so every clause shows its outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, JsonValue

from coterie.rules.checked import Checked, Leaf, check
from coterie.rules.fields import MEMBER_OF, FieldCatalog, Operator
from coterie.rules.membership import Membership
from coterie.rules.python import Record, leaf, read, stored
from coterie.rules.tree import Rule


class Explanation(BaseModel):
    """One clause of a rule and whether it held for the person, with the clauses under it.

    A condition also shows what the person has: `actual` is the stored value (dates and
    datetimes as ISO 8601, None for NULL or a missing key), and `is_set` whether it counts as a
    value (not for JSON null, a JSON value of the wrong type or an empty multi_enum). For
    `member_of`, `actual` lists which of the named groups the person is in, and `is_set` is None.
    """

    model_config = ConfigDict(frozen=True)

    path: str
    kind: Literal["all", "any", "not", "condition"]
    matched: bool
    clauses: tuple[Explanation, ...] = ()
    field: str | None = None
    op: Operator | None = None
    value: JsonValue = None
    actual: JsonValue = None
    is_set: bool | None = None


def explain(
    rule: Rule, catalog: FieldCatalog, record: Record, *, now: datetime, at: str = "filter"
) -> Explanation:
    """Evaluate a rule for one record (shaped as for `to_predicate`), keeping every outcome.

    `Invalid` for a bad rule, exactly as `to_sql` and `to_predicate` raise it.
    """
    return _explain(check(rule, catalog, now=now, at=at), record)


def _explain(node: Checked, record: Record) -> Explanation:
    if isinstance(node, Leaf):
        return _condition(node, record)
    clauses = tuple(_explain(part, record) for part in node.parts)
    outcomes = [clause.matched for clause in clauses]
    if node.kind == "all":
        matched = all(outcomes)
    elif node.kind == "any":
        matched = any(outcomes)
    else:
        matched = not outcomes[0]
    return Explanation(path=node.path, kind=node.kind, matched=matched, clauses=clauses)


def _condition(node: Leaf, record: Record) -> Explanation:
    reduced, condition = node.reduced, node.condition
    shown: dict[str, Any] = {
        "path": node.path,
        "kind": "condition",
        "matched": leaf(reduced)(record),
        "op": condition.op,
        "value": condition.value,
    }
    if isinstance(reduced, Membership):
        source = reduced.source
        groups = [g for g in reduced.group_ids if source.python_contains(record, (g,))]
        return Explanation(**shown, field=MEMBER_OF, actual=groups)
    spec = reduced.spec
    actual = _jsonable(stored(spec, record))
    return Explanation(
        **shown, field=spec.name, actual=actual, is_set=read(spec, record) is not None
    )


def _jsonable(value: object) -> JsonValue:
    """A stored value as JSON: JSON documents pass through, dates become ISO 8601 text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return str(value)
