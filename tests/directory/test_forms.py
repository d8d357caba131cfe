from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from coterie.actor import Actor
from coterie.directory import forms
from coterie.directory.schemas import FieldCreate
from coterie.rules import FieldType


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_new_field_gets_planner_statistics_on_postgresql(session: Session, admin: Actor) -> None:
    """Extended statistics are a PostgreSQL feature; SQLite plans without them."""
    forms.create_field(
        session, actor=admin, data=FieldCreate(key="tier", label="Tier", type=FieldType.TEXT)
    )
    name = forms.statistics_name("tier")
    found = session.scalar(
        text("SELECT pg_get_statisticsobjdef(oid) FROM pg_statistic_ext WHERE stxname = :n"),
        {"n": name},
    )
    assert found is not None
    assert "attributes ->> 'tier'" in found


def test_statistics_names_fit_postgresql_identifiers() -> None:
    long_key = "k" * 64
    assert len(forms.statistics_name(long_key)) <= 63
    assert forms.statistics_name(long_key) != forms.statistics_name("k" * 63)
