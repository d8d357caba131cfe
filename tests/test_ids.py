"""Opaque ids: 13 base-32 digits for every 63-bit value, and back."""

from __future__ import annotations

import time

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


def _ticks_apart(first: int, second: int) -> int:
    """How many 64 ms ticks of the 70-minute cycle lie between two ids' high 16 bits."""
    return ((second >> 47) - (first >> 47)) % 2**16


@pytest.mark.parametrize("draw", [lambda n: [ids.new_id() for _ in range(n)], ids.new_ids])
def test_ids_drawn_together_share_their_high_bits_and_differ_in_47_random_ones(draw) -> None:
    drawn = draw(2000)
    assert all(0 < value < 2**63 for value in drawn)
    assert all(_ticks_apart(drawn[0], value) <= 1 for value in drawn)  # one tick, or the next
    low = [value & (2**47 - 1) for value in drawn]
    assert len(set(low)) == len(low)
    # Random, not counted: the top random bit is set in about half of them.
    assert 800 < sum(value >> 46 for value in low) < 1200


def test_the_high_bits_follow_the_clock() -> None:
    first = ids.new_id()
    time.sleep(0.15)  # more than two ticks
    later = ids.new_ids(1)[0]
    assert 2 <= _ticks_apart(first, later) <= 40
