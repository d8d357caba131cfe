"""Reading the campaign editor's form: chosen groups, the optional rule, and the window typed in
the workspace's time zone (`datetime-local` fields carry no zone of their own)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.datastructures import FormData

from coterie import ids
from coterie.engagement.schemas import CAMPAIGN_KIND_VALUES
from coterie.errors import Invalid
from coterie.inputs import in_utc


def zone(name: str) -> Any:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def to_local_input(moment: datetime | None, time_zone: str) -> str:
    """A stored UTC time as a `datetime-local` value in the workspace's zone."""
    if moment is None:
        return ""
    return moment.astimezone(zone(time_zone)).strftime("%Y-%m-%dT%H:%M")


def from_local_input(text: str, time_zone: str, at: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        local = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid("Use a date and time like 2027-03-01 09:00", field=at) from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone(time_zone))
    try:
        return in_utc(local)
    except ValueError:
        raise Invalid("Use a time within years 1 to 9999", field=at) from None


@dataclass
class CampaignDraft:
    """The editor's fields as typed (ids encoded), so a refused save shows them again."""

    name: str = ""
    kind: str = "sms"
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    rule: str = ""
    starts_at: str = ""
    ends_at: str = ""
    join_group: str = ""

    @classmethod
    def read(cls, form: FormData) -> CampaignDraft:
        def text(name: str, limit: int = 2000) -> str:
            value = form.get(name, "")
            return value.strip()[:limit] if isinstance(value, str) else ""

        def chosen(name: str) -> list[str]:
            return [v for v in form.getlist(name) if isinstance(v, str) and v][:100]

        kind = text("kind", 16)
        return cls(
            name=text("name", 200),
            kind=kind if kind in CAMPAIGN_KIND_VALUES else "other",
            include=list(dict.fromkeys(chosen("include"))),
            exclude=list(dict.fromkeys(chosen("exclude"))),
            rule=text("rule"),
            starts_at=text("starts_at", 40),
            ends_at=text("ends_at", 40),
            join_group=text("join_group", 13),
        )

    def group_ids(self, name: str) -> list[int]:
        values = self.include if name == "include" else self.exclude
        return ids.decode_all(values, what="group", at=f"{name}_group_ids")

    def body(self, time_zone: str) -> dict[str, Any]:
        """Fields for `CampaignCreate`/`CampaignUpdate`."""
        return {
            "name": self.name,
            "kind": self.kind,
            "include_group_ids": self.include,
            "exclude_group_ids": self.exclude,
            "rule": self.rule or None,
            "starts_at": from_local_input(self.starts_at, time_zone, "starts_at"),
            "ends_at": from_local_input(self.ends_at, time_zone, "ends_at"),
            "join_group_id": self.join_group or None,
        }
