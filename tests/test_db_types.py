"""Column types' conversions on the way in: the SQLite text of `UTCDateTime`, JSON columns' text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy.types
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from coterie import db

_SQLITE = sqlite.dialect()
_ZONES = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-23 * 60, 23 * 60)
)
_MOMENTS = st.datetimes(
    min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=_ZONES | st.just(UTC)
)


class _Composed(db.UTCDateTime):
    """`UTCDateTime` as SQLAlchemy composes it: `process_bind_param`, then SQLite's DATETIME."""

    def bind_processor(self, dialect: Any) -> Any:
        return sqlalchemy.types.TypeDecorator.bind_processor(self, dialect)


def _processor(kind: type[db.UTCDateTime]) -> Any:
    return kind().dialect_impl(_SQLITE).bind_processor(_SQLITE)


@given(_MOMENTS)
def test_a_time_is_stored_on_sqlite_as_sqlalchemys_datetime_stores_it(moment: datetime) -> None:
    assert _processor(db.UTCDateTime)(moment) == _processor(_Composed)(moment)


def test_a_naive_time_is_refused_and_none_stays_none() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        _processor(db.UTCDateTime)(datetime(2026, 12, 6, 12, 0))
    assert _processor(db.UTCDateTime)(None) is None


def test_json_columns_store_what_reads_back_as_the_value_and_refuse_times() -> None:
    value = {"plan": "Pro", "tags": ["a", "é"], "n": 2**70, "x": 1.5, "none": None}
    assert json.loads(db.json_text(value)) == value
    with pytest.raises(TypeError, match="not JSON serializable"):
        db.json_text({"when": datetime.now(UTC)})
