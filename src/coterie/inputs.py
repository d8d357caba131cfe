"""The base of every request body: unknown keys refused, text trimmed, NUL characters refused,
times (`Moment`) zoned and storable.

PostgreSQL cannot store a NUL character in text, so one would otherwise fail deep in the database;
here it is a validation error naming the field, on both databases alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

NUL_REFUSED = "must not contain the NUL character (\\u0000)"


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        if _has_nul(value):
            raise ValueError(NUL_REFUSED)
        return value


def in_utc(value: datetime) -> datetime:
    """A zoned time as the same instant in UTC; ValueError when that falls outside years 1 to
    9999, which neither Python's datetime nor the databases hold (a 500 when it was stored)."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range: the time in UTC must fall in years 1 to 9999") from None


def storable_whole_number(value: int) -> int:
    """`value` when a 64-bit integer holds it (what rules compare it as: a BIGINT); ValueError
    otherwise, so a custom integer beyond that range is refused where it is given."""
    if not -(2**63) <= value < 2**63:
        raise ValueError(f"{value} is out of range: a whole number must lie within ±2^63")
    return value


def _zoned_in_utc(value: datetime) -> datetime:
    """A time given by a client: refused without a zone, then `in_utc`."""
    if value.tzinfo is None:
        raise ValueError("give a time zone (or Z for UTC)")
    return in_utc(value)


Moment = Annotated[datetime, AfterValidator(_zoned_in_utc)]
"""A point in time given by a client: zoned, storable, and in UTC from here on."""


Label = Annotated[str, Field(max_length=200)]
"""One short text of a list given by a client (a group's tags, a field's options, a person's
nicknames): the list's length is bounded by its field, each item by this."""
