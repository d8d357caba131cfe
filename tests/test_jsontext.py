"""`jsontext`: orjson's JSON, and the standard library's where orjson refuses, to the same text."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coterie import jsontext

_MOMENT = datetime(2026, 12, 6, 21, 21, 36, 635372, tzinfo=UTC)


def _iso(value: object) -> str:
    assert isinstance(value, datetime)
    return value.isoformat()


_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(_VALUES)
def test_it_reads_back_as_the_standard_librarys_json(value: Any) -> None:
    assert json.loads(jsontext.dumps(value, _iso)) == json.loads(json.dumps(value))


def test_datetimes_are_written_as_by_isoformat_or_by_the_default() -> None:
    both = [_MOMENT, _MOMENT.replace(microsecond=0)]
    assert json.loads(jsontext.dumps(both, _iso)) == [m.isoformat() for m in both]
    assert json.loads(jsontext.dumps(both, str, datetimes_by_default=True)) == [
        str(m) for m in both
    ]


@pytest.mark.parametrize(
    "value",
    [{"big": 2**70, "when": _MOMENT}, {1: "a key that is not text", "when": _MOMENT}],
    ids=["integer beyond 64 bits", "key that is not text"],
)
def test_what_orjson_refuses_is_written_by_the_standard_library(value: dict[Any, Any]) -> None:
    expected = json.dumps(value, default=_iso, separators=(",", ":"))
    assert jsontext.dumps(value, _iso).decode() == expected


def test_what_json_has_no_type_for_goes_through_the_default() -> None:
    assert json.loads(jsontext.dumps({"n": frozenset([3])}, repr)) == {"n": "frozenset({3})"}
    with pytest.raises(TypeError):
        jsontext.dumps({"n": object()}, _refuse)


def _refuse(value: object) -> str:
    raise TypeError(f"{type(value).__name__} is not JSON")
