"""Custom fields: checking values against their type, and the rule catalog of users."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlparse

from coterie.directory import contacts
from coterie.directory.models import Field, User
from coterie.errors import FieldError, Invalid
from coterie.inputs import in_utc, storable_whole_number
from coterie.rules import FieldCatalog, FieldSpec, FieldType, format_date, format_datetime

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
CHANNELS = ("whatsapp", "instagram", "email", "phone", "sms")
SOURCES = ("internal", "import", "integration", "scim", "app")
STATUSES = ("active", "deactivated")
ROLES = ("none", "identified_only", "read_only", "standard", "admin")


def coerce(field: Field, value: Any, *, region: str) -> Any:
    """The stored form of `value` for `field`, or ValueError saying why it does not fit."""
    kind = FieldType(field.type)
    if kind in (FieldType.TEXT, FieldType.URL, FieldType.ENUM, FieldType.PHONE, FieldType.EMAIL):
        if not isinstance(value, str):
            raise ValueError(f"expected text, got {type(value).__name__}")
        value = value.strip()
        if kind is FieldType.TEXT and len(value) > 10_000:
            raise ValueError("text is longer than 10,000 characters")
        if kind is FieldType.ENUM and value not in field.options:
            raise ValueError(f"{value!r} is not one of {', '.join(field.options)}")
        if kind is FieldType.PHONE:
            return contacts.normalize_phone(value, region)
        if kind is FieldType.EMAIL:
            return contacts.normalize_email(value)
        if kind is FieldType.URL:
            parsed = urlparse(value)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise ValueError(f"{value!r} is not an http(s) URL")
        return value
    if kind is FieldType.BOOLEAN:
        if not isinstance(value, bool):
            raise ValueError("expected true or false")
        return value
    if kind is FieldType.INTEGER:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("expected a whole number")
        return storable_whole_number(value)
    if kind is FieldType.NUMBER:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValueError("expected a number")
        return value
    if kind is FieldType.DATE:
        parsed_date = value if isinstance(value, date) else _parse(date.fromisoformat, value)
        return format_date(parsed_date)
    if kind is FieldType.DATETIME:
        moment = value if isinstance(value, datetime) else _parse(datetime.fromisoformat, value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return format_datetime(in_utc(moment))
    if kind is FieldType.MULTI_ENUM:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("expected a list of options")
        unknown = [v for v in value if v not in field.options]
        if unknown:
            raise ValueError(
                f"{', '.join(map(repr, unknown))} not among {', '.join(field.options)}"
            )
        return sorted(set(value), key=field.options.index)
    raise ValueError(f"unsupported field type {field.type}")


def _parse(parser: Callable[[str], Any], value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("expected an ISO 8601 date")
    try:
        return parser(value.strip())
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an ISO 8601 date") from exc


def coerce_attributes(
    fields: Sequence[Field], values: dict[str, Any], *, region: str, at: str = "attributes"
) -> dict[str, Any]:
    """Check every custom value; None removes it. Raises Invalid listing every bad key at once."""
    by_key = {f.key: f for f in fields}
    stored: dict[str, Any] = {}
    problems: list[FieldError] = []
    for key, value in values.items():
        field = by_key.get(key)
        if field is None:
            problems.append(FieldError(f"{at}.{key}", f"no custom field named {key!r}"))
            continue
        if value is None or value == "" or value == []:
            stored[key] = None
            continue
        try:
            stored[key] = coerce(field, value, region=region)
        except ValueError as exc:
            problems.append(FieldError(f"{at}.{key}", f"{field.label}: {exc}"))
    if problems:
        raise Invalid("Some custom field values are not valid", errors=problems)
    return stored


def _system_specs(region: str) -> list[FieldSpec]:
    t = User.__table__.c

    def phone(raw: str) -> str:
        return contacts.normalize_phone(raw, region)

    return [
        FieldSpec("full_name", FieldType.TEXT, t.full_name, label="Name"),
        FieldSpec("first_name", FieldType.TEXT, t.first_name, label="First name"),
        FieldSpec("last_name", FieldType.TEXT, t.last_name, label="Last name"),
        FieldSpec("phone", FieldType.PHONE, t.phone, normalize=phone, label="Phone number"),
        FieldSpec("whatsapp", FieldType.PHONE, t.whatsapp, normalize=phone, label="WhatsApp"),
        FieldSpec(
            "email", FieldType.EMAIL, t.email, normalize=contacts.normalize_email, label="Email"
        ),
        FieldSpec(
            "instagram",
            FieldType.TEXT,
            t.instagram,
            normalize=contacts.normalize_instagram,
            label="Instagram",
        ),
        FieldSpec("external_id", FieldType.TEXT, t.external_id, label="External id"),
        FieldSpec(
            "primary_channel", FieldType.ENUM, t.primary_channel, CHANNELS, label="Primary channel"
        ),
        FieldSpec("source", FieldType.ENUM, t.source, SOURCES, label="Source"),
        FieldSpec("status", FieldType.ENUM, t.status, STATUSES, label="Status"),
        FieldSpec("role", FieldType.ENUM, t.role, ROLES, label="Role"),
        FieldSpec("agent_id", FieldType.TEXT, t.agent_id, label="Agent id"),
        FieldSpec("scoring_enabled", FieldType.BOOLEAN, t.scoring_enabled, label="Scoring"),
        FieldSpec("roaming", FieldType.BOOLEAN, t.roaming, label="Roaming agent"),
        FieldSpec(
            "last_activity_at", FieldType.DATETIME, t.last_activity_at, label="Last activity"
        ),
        FieldSpec("created_at", FieldType.DATETIME, t.created_at, label="Created"),
        FieldSpec("updated_at", FieldType.DATETIME, t.updated_at, label="Updated"),
    ]


def custom_spec(field: Field) -> FieldSpec:
    """How rules read one custom field: `attributes.<key>` in the JSON column."""
    return FieldSpec(
        f"attributes.{field.key}",
        FieldType(field.type),
        User.__table__.c.attributes,
        json_key=field.key,
        options=tuple(field.options),
        label=field.label,
    )


def catalog(fields: Sequence[Field], *, region: str) -> FieldCatalog:
    """Every field a rule over users may read: system columns, then `attributes.<key>`."""
    return FieldCatalog([*_system_specs(region), *map(custom_spec, fields)])
