"""Opaque, unguessable ids: random 63-bit integers inside the database, short strings in URLs."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from functools import reduce

from sqlalchemy import ColumnElement, Integer, Text, cast, func, literal_column

from coterie.errors import Invalid, NotFound

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
_LENGTH = 13  # 13 * 5 bits covers 63 bits
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}


def new_id() -> int:
    return secrets.randbits(63) or 1


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
