"""Phone numbers and email addresses normalized fast enough for a million-row import, exactly.

`contacts.normalize_phone` (phonenumbers) and `contacts.normalize_email` (email-validator) cost
60-120 µs a value; most of it goes into parsing shapes that contact lists rarely hold. Here the
common shapes take a short path: a phone number of digits with spaces, dots, dashes and
parentheses, international (`+` first) or national, is parsed directly and only its validity is
asked of phonenumbers; an address `local@domain` with a plain ASCII local part has its domain
checked once per domain by email-validator. Whenever a shortcut's conditions do not hold, or a
value is invalid (so that the error message is the library's), the directory's own function
decides.
`tests/transfer/test_identifiers.py` checks both paths agree on a large generated sample.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumber, PhoneNumberType, phonenumberutil
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE, region_code_for_country_code

from coterie.directory import contacts

_NATIONAL = re.compile(r"\(?[0-9][0-9 ().-]*")  # digits with the separators people type
_SEPARATORS = str.maketrans("", "", " ().-")
_LOCAL = re.compile(r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*")  # a subset of RFC 5322 dot-atom
_DOMAIN = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_EMAIL_MAX = 254  # email-validator's limit on the whole address
_CACHE = 4096  # domains and regions remembered


def _country_code(digits: str) -> int:
    """The calling code a number written after `+` starts with, as phonenumbers finds it."""
    if digits[0] == "0":
        return 0
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in COUNTRY_CODE_TO_REGION_CODE:
            return code
    return 0


@lru_cache(maxsize=_CACHE)
def _prefix_rules(country_code: int) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    """The national-prefix and international-prefix patterns that make parsing take detours."""
    region = region_code_for_country_code(country_code)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    if metadata is None:
        raise LookupError(country_code)
    national = metadata.national_prefix_for_parsing
    international = metadata.international_prefix
    return (
        re.compile(national) if national else None,
        re.compile(international) if international else None,
    )


@lru_cache(maxsize=_CACHE)
def _region_code(region: str) -> int:
    metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
    code = None if metadata is None else metadata.country_code
    return 0 if code is None else int(code)


def _plain_number(country_code: int, national: str) -> PhoneNumber | None:
    """The number phonenumbers would parse, when no prefix rule or leading zero can apply."""
    if not 2 <= len(national) <= 17 or national[0] == "0":
        return None
    try:
        prefix, _ = _prefix_rules(country_code)
    except LookupError:
        return None
    if prefix is not None and prefix.match(national):
        return None
    return PhoneNumber(country_code=country_code, national_number=int(national))


def _fast_phone(text: str, region: str) -> str | None:
    """E.164 of a valid number in a common shape, or None to let phonenumbers decide."""
    if text[:1] == "+":
        if not _NATIONAL.fullmatch(text, 1):
            return None
        digits = text[1:].translate(_SEPARATORS)
        if len(digits) <= 2 or not digits.isdigit():
            return None
        country_code = _country_code(digits)
        if not country_code:
            return None
        national = digits[len(str(country_code)) :]
    else:
        if not _NATIONAL.fullmatch(text):
            return None
        national = text.translate(_SEPARATORS)
        country_code = _region_code(region)
        if len(national) < 3 or not country_code or national.startswith(str(country_code)):
            return None
        try:
            _, international = _prefix_rules(country_code)
        except LookupError:
            return None
        if international is not None and international.match(national):
            return None
    number = _plain_number(country_code, national)
    if number is None or not phonenumbers.is_possible_number(number):
        return None
    if not _is_valid(country_code, national, number):
        return None
    return f"+{country_code}{national}"


_number_type = getattr(phonenumberutil, "_number_type_helper")  # noqa: B009 (untyped, private)


def _is_valid(country_code: int, national: str, number: PhoneNumber) -> bool:
    """`phonenumbers.is_valid_number`, without checking the number's patterns twice.

    For a calling code shared by several regions (+1, +44, +7, ...) the library finds the
    region by testing the number against each region's patterns, then tests it against the
    found region's patterns again; the first test already answers, unless the region was found
    by its leading digits only.
    """
    regions = COUNTRY_CODE_TO_REGION_CODE.get(country_code, ())
    if len(regions) < 2:
        return bool(phonenumbers.is_valid_number(number))
    for region in regions:
        metadata = PhoneMetadata.metadata_for_region(region, None)
        if metadata is None:
            continue
        if metadata.leading_digits is not None:
            if re.match(metadata.leading_digits, national):
                return bool(_number_type(national, metadata) != PhoneNumberType.UNKNOWN)
        elif _number_type(national, metadata) != PhoneNumberType.UNKNOWN:
            return True
    return False


def phone_normalizer(region: str) -> Callable[[str], str]:
    """`contacts.normalize_phone` for one region, with the short path tried first."""

    def normalize(raw: str) -> str:
        text = raw.strip()
        return _fast_phone(text, region) or contacts.normalize_phone(raw, region)

    return normalize


@lru_cache(maxsize=_CACHE)
def _domain(domain: str) -> str | None:
    """The domain as email-validator normalizes it, or None when only the full check may say."""
    try:
        normalized = contacts.normalize_email(f"a@{domain}")
    except ValueError:
        return None
    return normalized.removeprefix("a@")


def normalize_email(raw: str) -> str:
    """`contacts.normalize_email`, with the domain of a plain address checked once per domain."""
    text = raw.strip()
    local, at, domain = text.partition("@")
    if (
        at
        and len(text) <= _EMAIL_MAX
        and _LOCAL.fullmatch(local)
        and _DOMAIN.fullmatch(domain)
        and "xn--" not in domain.lower()
    ):
        normalized = _domain(domain)
        if normalized is not None and normalized.isascii():
            return f"{local}@{normalized}".lower()
    return contacts.normalize_email(raw)
