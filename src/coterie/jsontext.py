"""JSON text of the documents the hot requests write and answer with: by orjson (a tenth of the
standard library's time; docs/performance.md, SCIM), and by the standard library for what orjson
refuses (integers beyond 64 bits, keys that are not text), to the same text."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

_PASSTHROUGH = orjson.OPT_PASSTHROUGH_DATACLASS  # dataclasses go through `default`, as in json


def dumps(
    value: Any, default: Callable[[Any], Any], *, datetimes_by_default: bool = False
) -> bytes:
    """`value` as compact UTF-8 JSON. What JSON has no type for goes through `default`, except
    datetimes, written as by `isoformat` unless `datetimes_by_default`."""
    option = _PASSTHROUGH | (orjson.OPT_PASSTHROUGH_DATETIME if datetimes_by_default else 0)
    try:
        return orjson.dumps(value, default=default, option=option)
    except TypeError:
        text = json.dumps(value, default=default, separators=(",", ":"), ensure_ascii=False)
        return text.encode()
