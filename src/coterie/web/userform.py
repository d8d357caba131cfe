"""The profile form shared by "Create user" and "Edit profile": reading it, and showing its errors.

The form keeps exactly what was typed, so a rejected submission comes back with every value in
place and each message next to the input it is about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from coterie.directory import contacts
from coterie.directory.models import IDENTIFIERS, Field, User
from coterie.errors import FieldError

CONTACT_KINDS: dict[str, tuple[str, str, str]] = {
    # kind: (label, icon, placeholder)
    "phone": ("Phone", "phone", "+1 415 555 0123"),
    "email": ("Email", "mail", "name@example.com"),
    "whatsapp": ("WhatsApp", "brand-whatsapp", "+44 7700 900123"),
    "instagram": ("Instagram", "brand-instagram", "@handle"),
    "external_id": ("External ID", "id", "ID in another system"),
}
_INTEGER = re.compile(r"^[+-]?\d+$")


@dataclass
class ContactRow:
    kind: str
    value: str
    error: str | None = None


@dataclass
class UserForm:
    full_name: str = ""
    first_name: str = ""
    last_name: str = ""
    nicknames: list[str] = field(default_factory=list)
    contacts: list[ContactRow] = field(default_factory=list)
    primary_channel: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    role: str = "none"
    password: str = field(default="", repr=False)  # never shown again
    errors: dict[str, str] = field(default_factory=dict)
    conflict: dict[str, str] | None = None

    @classmethod
    def blank(cls) -> UserForm:
        return cls(contacts=[ContactRow("phone", ""), ContactRow("email", "")])

    @classmethod
    def of_user(cls, user: User, custom: list[Field]) -> UserForm:
        attributes = {f.key: _shown(f, user.attributes.get(f.key)) for f in custom}
        return cls(
            full_name=user.full_name,
            first_name=user.first_name or "",
            last_name=user.last_name or "",
            nicknames=list(user.nicknames),
            contacts=[
                ContactRow(k, _contact(k, getattr(user, k)))
                for k in IDENTIFIERS
                if getattr(user, k)
            ],
            primary_channel=user.primary_channel or "",
            attributes=attributes,
            role=user.role,
        )

    @classmethod
    def read(cls, form: FormData, custom: list[Field]) -> UserForm:
        def text(name: str) -> str:
            value = form.get(name)
            return value.strip() if isinstance(value, str) else ""

        kinds = [k for k in form.getlist("contact_kind") if isinstance(k, str)]
        values = [v for v in form.getlist("contact_value") if isinstance(v, str)]
        rows = [ContactRow(k, v.strip()) for k, v in zip(kinds, values, strict=False)]
        result = cls(
            full_name=text("full_name"),
            first_name=text("first_name"),
            last_name=text("last_name"),
            nicknames=[n.strip() for n in form.getlist("nickname") if isinstance(n, str)],
            contacts=rows,
            primary_channel=text("primary_channel"),
            role=text("role") or "none",
            password=str(form.get("password") or "")[:200],
        )
        for f in custom:
            name = f"attr.{f.key}"
            if f.type == "multi_enum":
                result.attributes[f.key] = [v for v in form.getlist(name) if isinstance(v, str)]
            else:
                result.attributes[f.key] = text(name)
        result._check_contacts()
        return result

    def _check_contacts(self) -> None:
        seen: set[str] = set()
        for row in self.contacts:
            if not row.value:
                continue  # an empty row is simply ignored
            if row.kind not in CONTACT_KINDS:
                row.error = "Choose what kind of contact this is"
            elif row.kind in seen:
                label = CONTACT_KINDS[row.kind][0]
                row.error = f"A person has one {label}; remove this row or change its kind"
            seen.add(row.kind)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or any(r.error for r in self.contacts)

    def payload(self, custom: list[Field], *, admin: bool, creating: bool) -> dict[str, Any]:
        """Keyword arguments for UserCreate / UserUpdate; on edit, an emptied input clears."""
        given = {r.kind: r.value for r in self.contacts if r.value and r.kind in CONTACT_KINDS}
        values: dict[str, Any] = {
            "full_name": self.full_name or None,
            "first_name": self.first_name or None,
            "last_name": self.last_name or None,
            "nicknames": [n for n in self.nicknames if n],
            "primary_channel": self.primary_channel or None,
            **{kind: given.get(kind) for kind in IDENTIFIERS},
            "attributes": {f.key: _typed(f, self.attributes.get(f.key)) for f in custom},
        }
        if admin:
            values["role"] = self.role
            if self.password:
                values["password"] = self.password
        if creating:
            values = {k: v for k, v in values.items() if v not in (None, [], {})}
            values["attributes"] = {
                k: v for k, v in values.get("attributes", {}).items() if v not in (None, "", [])
            }
        return values

    def add_errors(self, errors: list[FieldError]) -> None:
        """Put each service error next to its input; contact errors go on their row."""
        for error in errors:
            name = error.field
            rows = [r for r in self.contacts if r.kind == name]
            if name in CONTACT_KINDS and rows:
                rows[0].error = error.message
            elif name in CONTACT_KINDS:
                self.errors.setdefault("contacts", error.message)
            else:
                self.errors.setdefault(name or "form", error.message)

    def add_validation(self, exc: ValidationError) -> None:
        found = []
        for problem in exc.errors(include_url=False):
            loc = [str(p) for p in problem["loc"]]
            name = "attributes." + loc[1] if loc[0] == "attributes" and len(loc) > 1 else loc[0]
            found.append(FieldError(name, problem["msg"].removeprefix("Value error, ")))
        self.add_errors(found)

    def used_kinds(self) -> set[str]:
        return {r.kind for r in self.contacts}


def _contact(kind: str, value: str) -> str:
    """A stored identifier as people type it: phone numbers spaced, handles with their @."""
    if kind in ("phone", "whatsapp"):
        return contacts.format_phone(value)
    return f"@{value}" if kind == "instagram" else value


def _typed(spec: Field, raw: Any) -> Any:
    """The form's text for a custom field as the JSON value the service checks."""
    kind = spec.type
    if kind == "multi_enum":
        return list(raw or [])
    if not isinstance(raw, str) or raw == "":
        return None
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    if kind == "integer" and _INTEGER.match(raw):
        return int(raw)
    if kind == "number":
        try:
            return int(raw) if _INTEGER.match(raw) else float(raw)
        except ValueError:
            return raw
    return raw


def _shown(spec: Field, value: Any) -> Any:
    """A stored custom value as its input shows it."""
    if value is None:
        return [] if spec.type == "multi_enum" else ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if spec.type == "datetime" and isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).strftime("%Y-%m-%dT%H:%M")
        except ValueError:
            return value
    if isinstance(value, list):
        return [str(v) for v in value]
    return str(value)
