from __future__ import annotations

import pytest

from coterie.directory import contacts


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("07911 123456", "GB", "+447911123456"),
        ("+44 7911 123456", "US", "+447911123456"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("0151 23456789", "DE", "+4915123456789"),
        ("+33 6 12 34 56 78", "GB", "+33612345678"),
    ],
)
def test_phones_are_e164_in_the_workspace_region(raw: str, region: str, expected: str) -> None:
    assert contacts.normalize_phone(raw, region) == expected


@pytest.mark.parametrize("raw", ["12", "not a phone", "+1 555 0000 000000000"])
def test_bad_phones_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="phone"):
        contacts.normalize_phone(raw, "US")


def test_email_is_checked_and_lower_cased() -> None:
    assert contacts.normalize_email("  Jane.Doe@Example.COM ") == "jane.doe@example.com"
    with pytest.raises(ValueError, match="not a valid email"):
        contacts.normalize_email("jane@@example.com")


def test_instagram_handle_loses_at_and_case() -> None:
    assert contacts.normalize_instagram("@Jane.Doe_1") == "jane.doe_1"
    with pytest.raises(ValueError, match="Instagram"):
        contacts.normalize_instagram("no spaces allowed")
