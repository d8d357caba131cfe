"""Rules in plain words, for people who read a group's page rather than its filter text.

`describe` turns a stored rule tree into a sentence ("Plan is Pro and (Country is UK or Country
is IE)"); `clause` words one condition. Labels map field names to their labels and group ids to
group names, so `member_of` reads as "Member of VIP"; anything without a label shows as stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# How each operator reads after the field's label; `{v}` is the value in words.
_PHRASES: dict[str, str] = {
    "eq": "is {v}",
    "ne": "is not {v}",
    "contains": "contains {v}",
    "starts_with": "starts with {v}",
    "ends_with": "ends with {v}",
    "in": "is {v}",
    "not_in": "is none of {v}",
    "gt": "is greater than {v}",
    "gte": "is at least {v}",
    "lt": "is less than {v}",
    "lte": "is at most {v}",
    "between": "is between {v}",
    "before": "is before {v}",
    "after": "is after {v}",
    "within_last": "within the last {v}",
    "not_within_last": "not within the last {v}",
    "any": "has any of {v}",
    "all": "has all of {v}",
    "is_set": "is set",
    "is_not_set": "is not set",
}
_MEMBER_OF = {
    "eq": "Member of {v}",
    "in": "Member of {v}",
    "ne": "Not a member of {v}",
    "not_in": "Not a member of {v}",
}


def clause(field: str, op: str, value: object, labels: Mapping[str, str]) -> str:
    """One condition in words: `Plan is Pro`, `Phone number is set`, `Member of VIP`."""
    if field == "member_of" and op in _MEMBER_OF:
        names = [labels.get(str(v), str(v)) for v in _as_list(value)]
        joiner = " or " if op in ("in", "not_in") else " and "
        return _MEMBER_OF[op].format(v=_join(names, joiner))
    label = labels.get(field, field)
    phrase = _PHRASES.get(op)
    if phrase is None:
        return f"{label} {op} {_value(value)}".rstrip()
    return f"{label} {phrase.format(v=_operand(op, value))}"


def describe(tree: Mapping[str, Any] | None, labels: Mapping[str, str]) -> str:
    """A whole rule tree in words; "" when there is no rule. Nested groups get parentheses."""
    if not tree:
        return ""
    return _node(tree, labels, nested=False)


def _node(node: Mapping[str, Any], labels: Mapping[str, str], *, nested: bool) -> str:
    if "not" in node and isinstance(node["not"], Mapping):
        return f"not ({_node(node['not'], labels, nested=False)})"
    for key, joiner in (("all", " and "), ("any", " or ")):
        items = node.get(key)
        if isinstance(items, Sequence) and not isinstance(items, str):
            parts = [
                _node(item, labels, nested=True) for item in items if isinstance(item, Mapping)
            ]
            if len(parts) == 1:
                return parts[0]
            text = joiner.join(parts)
            return f"({text})" if nested else text
    if "field" in node and "op" in node:
        return clause(str(node["field"]), str(node["op"]), node.get("value"), labels)
    return str(dict(node))


def _operand(op: str, value: object) -> str:
    if op in ("within_last", "not_within_last"):
        days = _value(value)
        return f"{days} day" if days == "1" else f"{days} days"
    values = _as_list(value)
    if op == "between" and len(values) == 2:
        return f"{_value(values[0])} and {_value(values[1])}"
    words = [_value(v) for v in values]
    if op == "in":
        return _join(words, " or ")
    if op in ("not_in", "any", "all"):
        return ", ".join(words)
    return _value(value)


def _as_list(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _join(words: list[str], last: str) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + last + words[-1]


def _value(value: object) -> str:
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    if value is None:
        return "nothing"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value)
    return str(value)
