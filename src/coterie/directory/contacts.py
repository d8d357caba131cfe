"""Normalizing contact identifiers, so the same person is found however their number was typed."""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email

_INSTAGRAM = re.compile(r"^[a-z0-9._]{1,30}$")


def normalize_phone(raw: str, region: str) -> str:
    """E.164 (`+14155550123`); a number without a country code is read in the workspace's region."""
    text = raw.strip()
    try:
        number = phonenumbers.parse(text, region.upper())
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{raw!r} is not a phone number") from exc
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise ValueError(f"{raw!r} is not a valid phone number for region {region}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str) -> str:
    """International display form (`+1 415-555-0123`)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def normalize_email(raw: str) -> str:
    """Syntax-checked and lower-cased; no DNS lookup (writes must not depend on the network)."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"{raw!r} is not a valid email address: {exc}") from exc
    return result.normalized.lower()


def normalize_instagram(raw: str) -> str:
    handle = raw.strip().removeprefix("@").lower()
    if not _INSTAGRAM.match(handle):
        raise ValueError(
            f"{raw!r} is not an Instagram handle (letters, digits, '.' and '_', at most 30)"
        )
    return handle


def normalize_external_id(raw: str) -> str:
    value = raw.strip()
    if not value:
        raise ValueError("external id is empty")
    return value


def normalize(kind: str, raw: str, *, region: str) -> str:
    """Normalize one identifier of a given kind (phone, whatsapp, email, instagram, external_id)."""
    if kind in ("phone", "whatsapp"):
        return normalize_phone(raw, region)
    if kind == "email":
        return normalize_email(raw)
    if kind == "instagram":
        return normalize_instagram(raw)
    if kind == "external_id":
        return normalize_external_id(raw)
    raise ValueError(f"unknown identifier kind {kind!r}")
