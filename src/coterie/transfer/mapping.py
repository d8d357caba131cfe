"""Which column of an imported file becomes which field of a person.

Files come from CRMs, spreadsheets and mailing tools in many languages, so `suggest` reads headers
loosely (case, accents, punctuation and qualifiers like "work" or "number" do not matter); `check`
then holds the chosen mapping to the issue's two rules: a name and a way to contact each person.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from coterie.directory.fields import KEY_PATTERN
from coterie.directory.models import Field
from coterie.errors import FieldError, Invalid
from coterie.rules import FieldType

SYSTEM_TARGETS: dict[str, str] = {
    "full_name": "Full name",
    "first_name": "First name",
    "last_name": "Last name",
    "phone": "Phone",
    "email": "Email",
    "whatsapp": "WhatsApp",
    "instagram": "Instagram",
    "external_id": "External id",
    "primary_channel": "Primary channel",
    "nicknames": "Nicknames",
    "source_ref": "Source reference",
    "last_activity_at": "Last activity",
}
IDENTIFIER_TARGETS = ("phone", "email", "whatsapp", "instagram", "external_id")
NAME_TARGETS = ("full_name", "first_name")
CONTACT_TARGETS = ("phone", "email", "whatsapp", "instagram")
ATTRIBUTE_PREFIX = "attributes."
OPTION_TYPES = (FieldType.ENUM.value, FieldType.MULTI_ENUM.value)

Mapping = dict[str, str | None]


@dataclass(frozen=True)
class NewField:
    """A custom field to create with the import, so a column can be kept without a detour."""

    key: str
    label: str
    type: str
    description: str = ""
    options: tuple[str, ...] = ()


# Header spellings, compacted (see `_compact`), in English, Spanish, French, German, Portuguese.
_SYNONYMS: dict[str, str] = {
    "full_name": (
        "fullname contactname displayname completename nombrecompleto nomcomplet "
        "vollstandigername nomecompleto contact contacto kontakt contato"
    ),
    "first_name": "firstname givenname forename prenom nombre vorname primeironome",
    "last_name": (
        "lastname surname familyname apellido apellidos nachname familienname sobrenome "
        "nomdefamille ultimonome"
    ),
    "phone": (
        "phone phonenumber telephone telephonenumber tel mobile mobilephone mobilenumber cell "
        "cellphone cellular telefono telefonomovil movil celular telefone handy handynummer "
        "mobil mobiltelefon telefonnummer portable numerodetelephone"
    ),
    "email": (
        "email emailaddress mail mailaddress correo correoelectronico courriel adressemail "
        "adresseemail emailadresse"
    ),
    "whatsapp": "whatsapp whatsappnumber wa wanumber whatsappphone zap",
    "instagram": (
        "instagram ig insta instahandle instagramhandle iguser instagramuser instagramusername "
        "instagramaccount"
    ),
    "external_id": (
        "externalid customerid clientid crmid contactid recordid id uid userid externalreference "
        "idcliente identifiant kundennummer kundenid"
    ),
    "primary_channel": (
        "channel preferredchannel primarychannel contactchannel canal canalpreferido kanal"
    ),
    "nicknames": "nickname nicknames alias aliases apodo surnom spitzname apelido",
    "source_ref": "source sourceref sourcereference leadsource origin origen herkunft",
    "last_activity_at": (
        "lastactivity lastactivityat lastactive lastseen lastcontacted lastcontact lastvisit "
        "ultimaactividad derniereactivite letzteaktivitat ultimaatividade"
    ),
}
_SYSTEM_BY_SPELLING = {
    word: target for target, words in _SYNONYMS.items() for word in words.split()
}
# "Name" means the whole name, or the given or family name when the other one has its own column.
_AMBIGUOUS_NAMES = frozenset({"name", "nom", "nome", "namen"})
# Words that qualify a header without changing its meaning ("Work Email", "Phone Number 2").
_QUALIFYING_WORDS = (
    "contact customer client primary main work personal home private business default your "
    "the of de du la le number no nr num nummer numero address adresse direccion endereco "
    "handle username user account"
)
_QUALIFIERS = frozenset(_QUALIFYING_WORDS.split())
_PARENTHESES = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def _words(header: str) -> list[str]:
    decomposed = unicodedata.normalize("NFKD", header)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    without_notes = _PARENTHESES.sub(" ", plain)
    return [w for w in _NON_ALNUM.split(without_notes or plain) if w]


def _compact(text: str) -> str:
    return "".join(_words(text))


def _custom_spellings(fields: Sequence[Field]) -> dict[str, str]:
    spellings: dict[str, str] = {}
    for field in fields:
        for spelling in (_compact(field.key), _compact(field.label)):
            spellings.setdefault(spelling, f"{ATTRIBUTE_PREFIX}{field.key}")
    return spellings


def _guess(header: str, custom: dict[str, str]) -> str | None:
    """The target a header most likely means; "name" when only the neighbours can tell."""
    words = _words(header)
    whole = "".join(words)
    if whole in _SYSTEM_BY_SPELLING:
        return _SYSTEM_BY_SPELLING[whole]
    if whole in custom:
        return custom[whole]
    core = "".join(w for w in words if w not in _QUALIFIERS and not w.isdigit())
    if core in _AMBIGUOUS_NAMES or whole in _AMBIGUOUS_NAMES:
        return "name"
    return _SYSTEM_BY_SPELLING.get(core) if core else None


def suggest(headers: Sequence[str], fields: Sequence[Field]) -> Mapping:
    """A first mapping from the headers alone; each target is given to one column at most."""
    custom = _custom_spellings(fields)
    guesses = {header: _guess(header, custom) for header in headers}
    mapping: Mapping = {}
    taken: set[str] = set()
    for header in headers:
        target = guesses[header]
        if target == "name" or target in taken:
            target = None
        if target is not None:
            taken.add(target)
        mapping[header] = target
    for header in headers:
        if guesses[header] != "name":
            continue
        has_first, has_last = "first_name" in taken, "last_name" in taken
        if has_first and not has_last:
            target = "last_name"  # Prénom + Nom, Vorname + Name
        elif has_last and not has_first:
            target = "first_name"  # Name + Surname
        else:
            target = "full_name"
        if target not in taken:
            taken.add(target)
            mapping[header] = target
    return mapping


def custom_keys(mapping: Mapping) -> list[str]:
    """The custom fields the mapping fills, in column order."""
    return [
        target.removeprefix(ATTRIBUTE_PREFIX)
        for target in mapping.values()
        if target and target.startswith(ATTRIBUTE_PREFIX)
    ]


def outside_form(mapping: Mapping, form_keys: Collection[str] | None) -> list[str]:
    """Columns mapped to a custom field that the import's form does not hold (none without a
    form: then every custom column is kept)."""
    if form_keys is None:
        return []
    return [
        header
        for header, target in mapping.items()
        if target
        and target.startswith(ATTRIBUTE_PREFIX)
        and target.removeprefix(ATTRIBUTE_PREFIX) not in form_keys
    ]


def dropped(mapping: Mapping, form_keys: Collection[str] | None = None) -> list[str]:
    """The columns whose data will not be stored, named to the person before they import:
    the ignored ones, and those outside the import's form."""
    outside = set(outside_form(mapping, form_keys))
    return [header for header, target in mapping.items() if target is None or header in outside]


def kept(mapping: Mapping, form_keys: Collection[str] | None) -> Mapping:
    """The mapping the import carries out: columns outside the form become ignored ones."""
    outside = set(outside_form(mapping, form_keys))
    return {header: None if header in outside else target for header, target in mapping.items()}


def _new_field_problems(new_fields: Sequence[NewField], existing: set[str]) -> list[FieldError]:
    problems: list[FieldError] = []
    seen: set[str] = set()
    types = {t.value for t in FieldType}
    for index, new in enumerate(new_fields):
        at = f"new_fields.{index}"
        if not KEY_PATTERN.match(new.key):
            problems.append(
                FieldError(
                    f"{at}.key",
                    f"{new.key!r} is not a valid key: lower-case letters, digits and _, "
                    "starting with a letter",
                )
            )
        elif new.key in existing:
            problems.append(FieldError(f"{at}.key", f"A field with key {new.key!r} already exists"))
        elif new.key in seen:
            problems.append(FieldError(f"{at}.key", f"Field {new.key!r} is defined twice"))
        seen.add(new.key)
        if not new.label.strip():
            problems.append(FieldError(f"{at}.label", "A new field needs a label"))
        if new.type not in types:
            problems.append(
                FieldError(
                    f"{at}.type",
                    f"{new.type!r} is not a field type: {', '.join(sorted(types))}",
                )
            )
            continue
        options = [o.strip() for o in new.options]
        if new.type in OPTION_TYPES:
            if not options or not all(options):
                problems.append(
                    FieldError(f"{at}.options", "An enum field needs a list of non-empty options")
                )
            elif len(set(options)) != len(options):
                problems.append(FieldError(f"{at}.options", "Options must be unique"))
        elif options:
            problems.append(FieldError(f"{at}.options", f"A {new.type} field takes no options"))
    return problems


def problems(
    mapping: Mapping,
    headers: Sequence[str],
    fields: Sequence[Field],
    new_fields: Sequence[NewField],
) -> list[FieldError]:
    """What makes a mapping unusable at all (as opposed to incomplete): every problem, in order."""
    existing = {f.key for f in fields}
    custom = existing | {n.key for n in new_fields}
    known = set(headers)
    found = _new_field_problems(new_fields, existing)
    used: dict[str, str] = {}
    for header, target in mapping.items():
        at = f"mapping.{header}"
        if header not in known:
            found.append(FieldError(at, f"There is no column {header!r} in the file"))
            continue
        if target is None:
            continue
        if target.startswith(ATTRIBUTE_PREFIX):
            if target.removeprefix(ATTRIBUTE_PREFIX) not in custom:
                found.append(
                    FieldError(at, f"{target!r} is neither an existing field nor a new one")
                )
                continue
        elif target not in SYSTEM_TARGETS:
            found.append(FieldError(at, f"{target!r} is not a field a column can be mapped to"))
            continue
        if target in used:
            found.append(
                FieldError(at, f"{_label(target)} is already mapped from column {used[target]!r}")
            )
            continue
        used[target] = header
    return found


def _label(target: str) -> str:
    return SYSTEM_TARGETS.get(target, target)


def check(
    mapping: Mapping,
    headers: Sequence[str],
    fields: Sequence[Field],
    new_fields: Sequence[NewField],
) -> None:
    """Raise Invalid listing every problem, including a missing name or contact column."""
    found = problems(mapping, headers, fields, new_fields)
    targets = set(mapping.values())
    if not targets.intersection(NAME_TARGETS):
        found.append(FieldError("mapping", "Map at least one column to Full name or First name"))
    if not targets.intersection(CONTACT_TARGETS):
        found.append(
            FieldError(
                "mapping", "Map at least one contact column: Phone, Email, WhatsApp or Instagram"
            )
        )
    if found:
        raise Invalid("The column mapping is not complete", errors=found)
