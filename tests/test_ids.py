"""Opaque ids: 13 base-32 digits for every 63-bit value, and back."""

from __future__ import annotations

import pytest

from coterie import ids
from coterie.errors import Invalid, NotFound

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def one_digit_at_a_time(value: int) -> str:
    digits = []
    for _ in range(13):
        value, rest = divmod(value, 32)
        digits.append(ALPHABET[rest])
    return "".join(reversed(digits))


EDGES = [1, 2, 31, 32, 1023, 1024, 2**50, 2**60 - 1, 2**60, 2**63 - 1]


@pytest.mark.parametrize("value", [*EDGES, *(ids.new_id() for _ in range(200))])
def test_encode_is_base32_and_decodes_back(value: int) -> None:
    text = ids.encode(value)
    assert text == one_digit_at_a_time(value)
    assert ids.decode(text) == value


def test_a_malformed_id_is_not_found_and_a_bad_one_in_a_body_names_its_place() -> None:
    with pytest.raises(NotFound):
        ids.decode("not-an-id")
    with pytest.raises(Invalid) as caught:
        ids.decode_all([ids.encode(5), "nope"], what="person", at="user_ids")
    assert caught.value.errors[0].field == "user_ids[1]"
