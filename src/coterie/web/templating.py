"""The Jinja2 environment of the admin UI and the small formatting helpers its templates use."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from starlette.templating import Jinja2Templates

from coterie import ids
from coterie.directory import contacts

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
TEMPLATE_DIR = HERE / "templates"

_AVATAR_COLORS = (
    "blue",
    "azure",
    "indigo",
    "purple",
    "pink",
    "red",
    "orange",
    "yellow",
    "lime",
    "green",
    "teal",
    "cyan",
)
CHANNELS: dict[str, tuple[str, str, str]] = {
    # value: (label, Tabler colour, icon)
    "whatsapp": ("WhatsApp", "green", "brand-whatsapp"),
    "instagram": ("Instagram", "pink", "brand-instagram"),
    "email": ("Email", "blue", "mail"),
    "phone": ("Phone", "azure", "phone"),
    "sms": ("SMS", "purple", "message-dots"),
}
SOURCES: dict[str, tuple[str, str]] = {
    "internal": ("Internal", "secondary"),
    "import": ("Import", "orange"),
    "integration": ("Integration", "cyan"),
    "scim": ("SCIM", "indigo"),
    "app": ("App", "teal"),
}
ROLES: dict[str, str] = {
    "none": "Contact",
    "identified_only": "Identified only",
    "read_only": "Read only",
    "standard": "Standard",
    "admin": "Admin",
}


def initials(name: str | None) -> str:
    words = [w for w in (name or "").replace("-", " ").split() if w[:1].isalpha()]
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][:2].upper()
    return (words[0][0] + words[-1][0]).upper()


def avatar_color(key: object) -> str:
    digest = hashlib.blake2s(str(key).encode(), digest_size=2).digest()
    return _AVATAR_COLORS[int.from_bytes(digest, "big") % len(_AVATAR_COLORS)]


def relative_time(moment: datetime | None, now: datetime | None = None) -> str:
    """ "3 days ago", "in 2 hours", "just now"; coarse on purpose (the exact time is a tooltip)."""
    if moment is None:
        return "Never"
    now = now or datetime.now(UTC)
    seconds = (now - moment).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 45:
        return "just now"
    steps = (
        (60, "minute"),
        (3600, "hour"),
        (86400, "day"),
        (30 * 86400, "month"),
        (365 * 86400, "year"),
    )
    amount, unit = round(seconds / 60), "minute"
    for size, name in steps:
        if seconds >= size:
            amount, unit = max(1, round(seconds / size)), name
    if unit == "day" and amount == 1:
        return "tomorrow" if future else "yesterday"
    text = f"{amount} {unit}{'' if amount == 1 else 's'}"
    return f"in {text}" if future else f"{text} ago"


def exact_time(moment: datetime | None, time_zone: str = "UTC") -> str:
    if moment is None:
        return ""
    try:
        zone: Any = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    local = moment.astimezone(zone)
    return local.strftime("%-d %b %Y, %H:%M ") + (local.tzname() or time_zone)


def stored_date(value: str) -> str:
    """A date or datetime custom value (`2026-12-02`, `2026-12-02T09:30:00Z`) for reading."""
    try:
        if "T" in value:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return moment.strftime("%-d %b %Y, %H:%M UTC")
        return datetime.fromisoformat(value).strftime("%-d %b %Y")
    except ValueError:
        return value


def phone(value: str | None) -> str:
    return contacts.format_phone(value) if value else ""


def grouped(value: int | float) -> str:
    return f"{value:,}"


def file_size(size: int | None) -> str:
    if size is None:
        return ""
    amount = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if amount < 1024 or unit == "GB":
            return f"{int(amount)} {unit}" if unit == "bytes" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{size} bytes"


def static_version() -> str:
    """Changes whenever any static file changes; asset URLs carry it, so browsers may cache them
    for good and still never keep a stale copy."""
    digest = hashlib.blake2s(digest_size=4)
    for path in sorted(STATIC_DIR.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(STATIC_DIR).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


@lru_cache(maxsize=1)
def templates() -> Jinja2Templates:
    """The template environment, built on first use (it reads the static files to version them)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=jinja2.select_autoescape(["html", "svg"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    version = static_version()
    env.globals.update(
        static=lambda path: f"/static/{path}?v={version}",
        CHANNELS=CHANNELS,
        SOURCES=SOURCES,
        ROLES=ROLES,
    )
    env.filters.update(
        initials=initials,
        avatar_color=avatar_color,
        relative=relative_time,
        exact=exact_time,
        phone=phone,
        grouped=grouped,
        file_size=file_size,
        stored_date=stored_date,
        encode_id=ids.encode,
    )
    return Jinja2Templates(env=env)
