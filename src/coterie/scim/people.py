"""SCIM User documents to and from Coterie people.

Coterie's columns are the truth for what they hold (names, one email, one phone, WhatsApp and
Instagram as `ims`, externalId, status, custom fields); the rest of what an identity provider
sent (every other email with its type, the enterprise extension) is the person's stored SCIM
document, returned as it was written. docs/scim.md has the mapping.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple, Protocol

from scim2_models import (
    Attribute,
    EnterpriseUser,
    Extension,
    Mutability,
    Schema,
    User,
)
from sqlalchemy.orm import Session

from coterie import ids
from coterie.access.scim import TokenWorkspace
from coterie.directory import contacts
from coterie.directory.models import Field
from coterie.directory.service import workspace_fields
from coterie.scim import checks
from coterie.scim.filters import COTERIE_USER
from coterie.scim.protocol import etag

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
# The SCIM attributes Coterie serves (None: all their sub-attributes). Those it has no column for
# are kept in the person's SCIM document and returned as written.
_MAPPED = ("userName", "name", "displayName", "nickName", "active", "emails", "phoneNumbers", "ims")
DOCUMENT_ONLY = (
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "photos",
    "addresses",
    "entitlements",
    "roles",
    "x509Certificates",
)
USER_ATTRIBUTES: dict[str, tuple[str, ...] | None] = dict.fromkeys((*_MAPPED, *DOCUMENT_ONLY))
ENTERPRISE_ATTRIBUTES: dict[str, tuple[str, ...] | None] = {
    "employeeNumber": None,
    "costCenter": None,
    "organization": None,
    "division": None,
    "department": None,
    "manager": ("value", "$ref", "displayName"),
}
_IM_KINDS = ("whatsapp", "instagram")
_FIELD_TYPES = {
    "text": Attribute.Type.string,
    "enum": Attribute.Type.string,
    "multi_enum": Attribute.Type.string,
    "phone": Attribute.Type.string,
    "email": Attribute.Type.string,
    "url": Attribute.Type.string,
    "date": Attribute.Type.string,
    "datetime": Attribute.Type.date_time,
    "number": Attribute.Type.decimal,
    "integer": Attribute.Type.integer,
    "boolean": Attribute.Type.boolean,
}


def _subset(schema: Schema, keep: Mapping[str, tuple[str, ...] | None]) -> Schema:
    attributes = []
    for attribute in schema.attributes or []:
        if attribute.name is None or attribute.name not in keep:
            continue
        subs = keep[attribute.name]
        if subs is not None:
            attribute = attribute.model_copy(
                update={
                    "sub_attributes": [s for s in attribute.sub_attributes or [] if s.name in subs]
                }
            )
        if attribute.name == "ims":
            attribute = attribute.model_copy(update={"canonical_values": None})
        attributes.append(attribute)
    return schema.model_copy(update={"attributes": attributes})


def user_schema() -> Schema:
    return _subset(User.to_schema(), USER_ATTRIBUTES)


def enterprise_schema() -> Schema:
    return _subset(EnterpriseUser.to_schema(), ENTERPRISE_ATTRIBUTES)


class PersonView(Protocol):
    """What a User resource is made of: a `directory.models.User`, or a row of its columns."""

    @property
    def id(self) -> int: ...
    @property
    def full_name(self) -> str | None: ...
    @property
    def first_name(self) -> str | None: ...
    @property
    def last_name(self) -> str | None: ...
    @property
    def nicknames(self) -> list[str]: ...
    @property
    def email(self) -> str | None: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def whatsapp(self) -> str | None: ...
    @property
    def instagram(self) -> str | None: ...
    @property
    def external_id(self) -> str | None: ...
    @property
    def status(self) -> str: ...
    @property
    def attributes(self) -> dict[str, Any]: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...


class PersonRow(NamedTuple):
    """A `PersonView` read as a row of its columns (`VIEW_COLUMNS`), as the hot reads do."""

    id: int
    full_name: str | None
    first_name: str | None
    last_name: str | None
    nicknames: list[str]
    email: str | None
    phone: str | None
    whatsapp: str | None
    instagram: str | None
    external_id: str | None
    status: str
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime


VIEW_COLUMNS = PersonRow._fields  # which reads select


class ProfileView(Protocol):
    """A person's stored SCIM document: an `access.provisioning.ScimUser`, or `StoredProfile`."""

    @property
    def user_name(self) -> str: ...
    @property
    def document(self) -> dict[str, Any]: ...
    @property
    def updated_at(self) -> datetime: ...


@dataclass(frozen=True)
class StoredProfile:
    user_name: str
    document: dict[str, Any]
    updated_at: datetime


FieldKey = tuple[tuple[str, str, tuple[str, ...], str], ...]


def field_key(custom: Sequence[Field]) -> FieldKey:
    return tuple((f.key, f.type, tuple(f.options), f.label) for f in custom)


def coterie_schema(key: FieldKey) -> Schema:
    """The workspace's custom fields as a SCIM extension schema."""
    attributes = [
        Attribute(
            name=name,
            type=_FIELD_TYPES.get(kind, Attribute.Type.string),
            multi_valued=kind == "multi_enum",
            description=label,
            required=Attribute.model_fields["required"].default,
            canonical_values=list(options) or None,
            case_exact=False,
            mutability=Mutability.read_write,
        )
        for name, kind, options, label in key
    ]
    return Schema(
        id=COTERIE_USER,
        name="CoterieUser",
        description="The workspace's custom fields",
        attributes=attributes,
    )


@lru_cache(maxsize=64)
def model(key: FieldKey) -> type[User[Any]]:
    """`User` with the enterprise extension and this workspace's custom-field extension (its
    context checks planned once: `checks`)."""
    extension = Extension.from_schema(coterie_schema(key))
    return checks.planned(User[EnterpriseUser | extension])  # type: ignore[valid-type]


WorkspaceModel = tuple[list[Field], type[User[Any]]]
_SCHEMAS: dict[tuple[int, int], WorkspaceModel] = {}


def workspace_model(session: Session, workspace: TokenWorkspace) -> WorkspaceModel:
    """The workspace's custom fields and its User model, kept per process by `rules_version`.

    Every field edit renews that stamp in its own transaction, and the stamp is read with the
    token on every request, so a cached entry is never used after its fields changed. The fields
    are copies outside any session (the session's own objects stay the caller's).
    """
    key = (workspace.id, workspace.rules_version)
    found = _SCHEMAS.get(key)
    if found is None:
        custom = [
            Field(
                workspace_id=f.workspace_id,
                id=f.id,
                key=f.key,
                label=f.label,
                type=f.type,
                description=f.description,
                options=list(f.options),
                created_at=f.created_at,
            )
            for f in workspace_fields(session, workspace_id=workspace.id)
        ]
        found = (custom, model(field_key(custom)))
        if len(_SCHEMAS) >= 256:  # old stamps are never asked for again
            _SCHEMAS.clear()
        _SCHEMAS[key] = found
    return found


def _primary(items: Any) -> dict[str, Any] | None:
    if not isinstance(items, list) or not items:
        return None
    chosen = next((i for i in items if isinstance(i, dict) and i.get("primary")), items[0])
    return chosen if isinstance(chosen, dict) else None


def _try(kind: str, raw: Any, region: str) -> str | None:
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        return contacts.normalize(kind, raw, region=region)
    except ValueError:
        return None


def person_fields(doc: dict[str, Any], *, region: str) -> dict[str, Any]:
    """The Coterie fields of a SCIM User document (what a PUT sets, absent ones cleared)."""
    name = doc.get("name") or {}
    given, family = name.get("givenName"), name.get("familyName")
    full = doc.get("displayName") or name.get("formatted")
    full = full or " ".join(p for p in (given, family) if p) or doc.get("userName")
    email = _primary(doc.get("emails"))
    phone = _primary(doc.get("phoneNumbers"))
    ims = [i for i in doc.get("ims") or [] if isinstance(i, dict)]
    by_kind = {kind: next((i for i in ims if i.get("type") == kind), None) for kind in _IM_KINDS}
    nick = doc.get("nickName")
    return {
        "full_name": full,
        "first_name": given,
        "last_name": family,
        "nicknames": [nick] if nick else [],
        "email": email.get("value") if email else None,
        "phone": _try("phone", phone.get("value"), region) if phone else None,
        "whatsapp": _try("whatsapp", (by_kind["whatsapp"] or {}).get("value"), region),
        "instagram": _try("instagram", (by_kind["instagram"] or {}).get("value"), region),
        "external_id": doc.get("externalId"),
        "status": "deactivated" if doc.get("active") is False else "active",
        "attributes": dict(doc.get(COTERIE_USER) or {}),
    }


def _kept(items: list[dict[str, Any]], kind: str, truth: str | None, region: str) -> bool:
    """Whether stored SCIM entries still say what Coterie holds (else Coterie's value is shown)."""
    chosen = _primary(items)
    if chosen is None:
        return truth is None
    if chosen.get("value") == truth:  # already in stored form (normalizing it is costly)
        return True
    normalized = _try(kind, chosen.get("value"), region)
    return normalized == truth or (normalized is None and truth is None)


def document(
    person: PersonView, profile: ProfileView | None, custom: Sequence[Field], *, region: str
) -> dict[str, Any]:
    """A person as a SCIM User document: the stored one, overlaid with Coterie's values."""
    stored: dict[str, Any] = dict(profile.document) if profile else {}
    doc: dict[str, Any] = {"userName": _user_name(person, profile)}
    doc |= {key: stored[key] for key in DOCUMENT_ONLY if stored.get(key) is not None}
    if "displayName" in stored or profile is None:
        doc["displayName"] = person.full_name
    name = {
        **(stored.get("name") or {}),
        "givenName": person.first_name,
        "familyName": person.last_name,
    }
    if any(name.values()):
        doc["name"] = {k: v for k, v in name.items() if v is not None}
    if person.nicknames:
        doc["nickName"] = person.nicknames[0]
    if "active" in stored or profile is None or person.status != "active":
        doc["active"] = person.status == "active"
    emails = stored.get("emails") or []
    if not _kept(emails, "email", person.email, region):
        emails = [{"value": person.email, "type": "work", "primary": True}] if person.email else []
    phones = stored.get("phoneNumbers") or []
    if not _kept(phones, "phone", person.phone, region):
        phones = (
            [{"value": person.phone, "type": "mobile", "primary": True}] if person.phone else []
        )
    ims = []
    for kind in _IM_KINDS:
        truth = getattr(person, kind)
        mine = [i for i in stored.get("ims") or [] if i.get("type") == kind]
        if _kept(mine, kind, truth, region):
            ims.extend(mine)
        elif truth:
            ims.append({"value": truth, "type": kind})
    ims.extend(i for i in stored.get("ims") or [] if i.get("type") not in _IM_KINDS)
    for key, values in (("emails", emails), ("phoneNumbers", phones), ("ims", ims)):
        if values:
            doc[key] = values
    if person.external_id:
        doc["externalId"] = person.external_id
    if stored.get(ENTERPRISE):
        doc[ENTERPRISE] = stored[ENTERPRISE]
    known = {f.key for f in custom}
    extension = {k: v for k, v in person.attributes.items() if k in known and v is not None}
    if extension:
        doc[COTERIE_USER] = extension
    doc["schemas"] = [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        *(s for s in (ENTERPRISE, COTERIE_USER) if s in doc),
    ]
    return doc


def version(person: PersonView, profile: ProfileView | None) -> str:
    return etag(person.updated_at, profile.updated_at if profile else None)


def _when(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def resource(
    person: PersonView,
    profile: ProfileView | None,
    custom: Sequence[Field],
    *,
    region: str,
    base: str,
) -> dict[str, Any]:
    """The User resource a read returns, built as a dict: what validating `document` into the
    scim2-models User and dumping it gives (tests compare the two), at a fraction of the cost.
    Reads that pick attributes go through the model (`users.Call.resource`)."""
    doc = document(person, profile, custom, region=region)
    user_id = ids.encode(person.id)
    modified = max(person.updated_at, profile.updated_at) if profile else person.updated_at
    meta = {
        "resourceType": "User",
        "created": _when(person.created_at),
        "lastModified": _when(modified),
        "location": f"{base}/Users/{user_id}",
        "version": version(person, profile),
    }
    return {"schemas": doc.pop("schemas"), "id": user_id, "meta": meta, **doc}


def _user_name(person: PersonView, profile: ProfileView | None) -> str:
    if profile is not None:
        return profile.user_name
    return person.email or ids.encode(person.id)
