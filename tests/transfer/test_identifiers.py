"""The import's short paths for phones and emails against the directory's own normalization.

A differential test: every generated value must come out of `identifiers` exactly as it comes out
of `contacts` (the same E.164 string or address, or an error for both), and the short paths must
actually be taken for the common shapes. `COTERIE_DIFFERENTIAL_SAMPLES` makes the sample larger
(the bench ran it with 1,000,000 of each; see docs/performance.md).
"""

from __future__ import annotations

import functools
import os
import random
from collections.abc import Callable, Iterator

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

from coterie.directory import contacts
from coterie.transfer import identifiers

SAMPLES = int(os.environ.get("COTERIE_DIFFERENTIAL_SAMPLES", "20000"))
REGIONS = ("US", "GB", "BR", "DE", "FR", "IT", "IN", "MX", "AR", "AU", "CN", "RU", "NG", "ES")
SEPARATORS = ("", "", "", " ", "-", ".", "  ")


def _outcome(normalize: Callable[[str], str], raw: str) -> str:
    try:
        return normalize(raw)
    except ValueError:
        return "<invalid>"


def _directory_phone(raw: str, *, region: str) -> str:
    return contacts.normalize_phone(raw, region)


def _examples() -> list[tuple[int, str]]:
    """(calling code, national number) of an example of every type in every region."""
    found = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.TOLL_FREE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                found.append(
                    (number.country_code, phonenumbers.national_significant_number(number))
                )
    return found


def _spaced(rng: random.Random, digits: str) -> str:
    parts, at = [], 0
    while at < len(digits):
        step = rng.randint(1, 4)
        parts.append(digits[at : at + step])
        at += step
    text = rng.choice(SEPARATORS).join(parts)
    if rng.random() < 0.1 and len(parts) > 1:
        text = f"({parts[0]}) {''.join(parts[1:])}"
    return text


def phones(count: int, seed: int = 7) -> Iterator[tuple[str, str]]:
    """(raw text, default region): valid numbers of every region with their last digits changed,
    random digits after every calling code, national and international shapes, and oddities."""
    rng = random.Random(seed)
    examples = _examples()
    codes = sorted(COUNTRY_CODE_TO_REGION_CODE)
    for _ in range(count):
        region = rng.choice(REGIONS)
        roll = rng.random()
        if roll < 0.5:
            code, national = rng.choice(examples)
            keep = rng.randint(max(len(national) - 6, 1), len(national))
            national = national[:keep] + "".join(
                rng.choice("0123456789")
                for _ in range(len(national) - keep + rng.choice((0, 0, 0, 1, -1)))
            )
        else:
            code = rng.choice(codes) if rng.random() < 0.7 else rng.randint(1, 999)
            national = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 16)))
        shape = rng.random()
        if shape < 0.45:
            raw = f"+{code}{rng.choice(SEPARATORS)}{_spaced(rng, national)}"
        elif shape < 0.8:
            # written nationally, for the number's region or another one
            if rng.random() < 0.6:
                region = phonenumbers.region_code_for_country_code(code)
                region = region if region in phonenumbers.SUPPORTED_REGIONS else "US"
            raw = _spaced(rng, rng.choice(("", "", "0", "1", "00", "011")) + national)
        elif shape < 0.9:
            number = phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
            style = rng.choice((PhoneNumberFormat.NATIONAL, PhoneNumberFormat.INTERNATIONAL))
            raw = phonenumbers.format_number(number, style)
        else:
            odd = ("+", "++1", "(", ")", " ", "x", "ext. 12", "#", "+0", "tel:", "١٢٣", "٤", "a")
            raw = (
                _spaced(rng, national) + rng.choice(odd)
                if rng.random() < 0.5
                else (rng.choice(odd) + _spaced(rng, national))
            )
        if raw.strip():
            yield raw if rng.random() < 0.9 else f"  {raw} ", region


LOCALS = (
    "john.smith",
    "J.Smith+news",
    "a",
    "x_y-z",
    "o'brien",
    "first..last",
    ".dot",
    "dot.",
    'quoted"x',
    "space d",
    "zoë",
    "ÉMILE",
    "a" * 64,
    "b" * 65,
    "user%host",
    "tag+",
    "123",
    "Mixed.Case_99",
    "-lead",
    "trail-",
    "é.e",
    "",
)
DOMAINS = (
    "example.com",
    "Example.COM",
    "mail.example",
    "inbox.example",
    "sub.domain.co.uk",
    "localhost",
    "test",
    "foo.test",
    "foo.local",
    "foo.invalid",
    "foo.onion",
    "x.arpa",
    "123.45",
    "a.b",
    "bücher.de",
    "xn--bcher-kva.de",
    "XN--BCHER-KVA.DE",
    "-bad.com",
    "bad-.com",
    "a..b.com",
    "under_score.com",
    "trailing.dot.",
    "[127.0.0.1]",
    f"{'l' * 63}.com",
    f"{'l' * 64}.com",
    f"{'d' * 60}.{'e' * 60}.{'f' * 60}.{'g' * 60}.com",
    "gmail.com",
    "GMAIL.com",
    "co",
    "a.b.c.d.e.f.g.h",
    "1.com",
    "example.c0m",
    "ex ample.com",
    "exa@mple.com",
)


def emails(count: int, seed: int = 11) -> Iterator[str]:
    rng = random.Random(seed)
    for _ in range(count):
        local = rng.choice(LOCALS)
        if rng.random() < 0.5:
            local = f"{local}{rng.randint(0, 10**6)}"
        domain = rng.choice(DOMAINS)
        text = f"{local}@{domain}"
        roll = rng.random()
        if roll < 0.05:
            text = text.replace("@", "")
        elif roll < 0.08:
            text = f"{local}@@{domain}"
        elif roll < 0.12:
            text = f"Name <{text}>"
        elif roll < 0.16:
            text = f"{'l' * rng.randint(180, 250)}{text}"
        if rng.random() < 0.1:
            text = f" {text.upper()} "
        yield text


def test_phones_match_phonenumbers_on_a_large_sample() -> None:
    fast_paths = 0
    mismatches = []
    normalizers: dict[str, Callable[[str], str]] = {}
    for raw, region in phones(SAMPLES):
        expected = _outcome(functools.partial(_directory_phone, region=region), raw)
        normalize = normalizers.setdefault(region, identifiers.phone_normalizer(region))
        got = _outcome(normalize, raw)
        if got != expected:
            mismatches.append((raw, region, expected, got))
        if identifiers._fast_phone(raw.strip(), region) is not None:
            fast_paths += 1
    assert mismatches[:20] == []
    assert fast_paths > SAMPLES * 0.1  # the short path is exercised, not only the fallback


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+1 415 555 2671", "GB", "+14155552671"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("415.555.2671", "US", "+14155552671"),
        ("+447911123456", "US", "+447911123456"),
        ("+55 11 98123-4567", "US", "+5511981234567"),
    ],
)
def test_common_shapes_take_the_short_path(raw: str, region: str, expected: str) -> None:
    assert identifiers._fast_phone(raw, region) == expected
    assert contacts.normalize_phone(raw, region) == expected


def test_emails_match_email_validator_on_a_large_sample() -> None:
    fast_paths = 0
    mismatches = []
    for raw in emails(SAMPLES):
        expected = _outcome(contacts.normalize_email, raw)
        got = _outcome(identifiers.normalize_email, raw)
        if got != expected:
            mismatches.append((raw, expected, got))
        text = raw.strip()
        local, _, domain = text.partition("@")
        if identifiers._LOCAL.fullmatch(local) and identifiers._DOMAIN.fullmatch(domain):
            fast_paths += 1
    assert mismatches[:20] == []
    assert fast_paths > SAMPLES * 0.2
