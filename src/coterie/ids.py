"""Opaque, unguessable ids: 63-bit integers inside the database, short strings in URLs.

An id is 47 random bits under 16 bits that tell which tick of a 70-minute cycle it was drawn
in (a tick is 64 ms). The ids drawn together sit together in every index that holds them, so
a write touches the few pages its neighbours in time touch, not one random page in each index:
commits write fewer pages and checkpoints copy fewer back (docs/performance.md, SCIM,
"Ids that sit together"). The cycle wraps, so the tick gives away when an id was drawn only
within 70 minutes; with 47 random bits, guessing an id drawn in a known tick is one chance in
140 trillion a try. Ids drawn before this scheme are random in all 63 bits and stay valid.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from functools import reduce

from sqlalchemy import ColumnElement, Integer, Text, cast, func, literal_column

from coterie.errors import Invalid, NotFound

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
_LENGTH = 13  # 13 * 5 bits covers 63 bits
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}


_RANDOM_BITS = 47
_TICK_NS = 64_000_000  # 2**16 ticks of 64 ms: a cycle of 70 minutes


def _tick() -> int:
    """The high bits of an id drawn now."""
    return (time.time_ns() // _TICK_NS & 0xFFFF) << _RANDOM_BITS


def new_id() -> int:
    return _tick() | secrets.randbits(_RANDOM_BITS) or 1


def new_ids(count: int) -> list[int]:
    """`new_id()` `count` times over, from one read of the system's random source (one read
    an id was a twentieth of an importing process's time)."""
    tick, data = _tick(), secrets.token_bytes(8 * count)
    shift = 64 - _RANDOM_BITS
    return [
        tick | int.from_bytes(data[i : i + 8], "big") >> shift or 1 for i in range(0, 8 * count, 8)
    ]


# Two base-32 digits per lookup: audits of large membership changes encode many thousands of ids.
_PAIRS = tuple(_ALPHABET[n >> 5] + _ALPHABET[n & 31] for n in range(1024))


def encode(value: int) -> str:
    """13 digits: one for the top 3 bits, then six pairs of 10 bits."""
    p = _PAIRS
    return (
        f"{_ALPHABET[value >> 60]}{p[value >> 50 & 1023]}{p[value >> 40 & 1023]}"
        f"{p[value >> 30 & 1023]}{p[value >> 20 & 1023]}{p[value >> 10 & 1023]}{p[value & 1023]}"
    )


def sql_encode(column: ColumnElement[int]) -> ColumnElement[str]:
    """`encode(column)` in SQL (both databases), for ids the server formats itself: CSV exports,
    the audit entries of a large membership change."""
    alphabet = literal_column(f"'{_ALPHABET}'", Text)
    digits = [
        func.substr(
            alphabet, cast(column.op(">>")(literal_column(str(shift))).op("&")(31), Integer) + 1, 1
        )
        for shift in range(60, -1, -5)
    ]
    return reduce(lambda left, right: left.concat(right), digits)


def decode(text: str, *, what: str = "record") -> int:
    """The integer behind a URL id; a malformed id is simply not found."""
    value = 0
    if len(text) != _LENGTH:
        raise NotFound(f"No {what} with id {text!r}")
    for char in text.lower():
        digit = _INDEX.get(char)
        if digit is None:
            raise NotFound(f"No {what} with id {text!r}")
        value = value * 32 + digit
    if not 0 < value < 2**63:
        raise NotFound(f"No {what} with id {text!r}")
    return value


def decode_all(values: Sequence[str], *, what: str, at: str) -> list[int]:
    """Ids given in a request body: a malformed one is bad input naming its place, not a 404."""
    decoded: list[int] = []
    for index, value in enumerate(values):
        try:
            decoded.append(decode(value, what=what))
        except NotFound:
            raise Invalid(f"No {what} with id {value!r}", field=f"{at}[{index}]") from None
    return decoded
