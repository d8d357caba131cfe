"""Opaque, unguessable ids: random 63-bit integers inside the database, short strings in URLs."""

from __future__ import annotations

import secrets

from coterie.errors import NotFound

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
_LENGTH = 13  # 13 * 5 bits covers 63 bits
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}


def new_id() -> int:
    return secrets.randbits(63) or 1


def encode(value: int) -> str:
    chars = []
    for _ in range(_LENGTH):
        value, rest = divmod(value, 32)
        chars.append(_ALPHABET[rest])
    return "".join(reversed(chars))


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
