"""API shapes of imports: `ImportRead`, `ImportConfigure`, previews and the report."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from coterie.inputs import Input, Label
from coterie.rules import FieldType

MergePolicy = Literal["fill", "overwrite", "skip"]


class NewFieldInput(Input):
    key: str = Field(min_length=1, max_length=64)
    label: str = Field(min_length=1, max_length=200)
    type: FieldType
    description: str = Field("", max_length=2000)
    options: list[str] = Field(default_factory=list, max_length=200)


class NewFormInput(Input):
    """A form the import creates when it starts, holding every custom column it keeps."""

    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)


class NewFormRead(BaseModel):
    name: str
    description: str
    fields: list[str] = Field(description="keys of the custom fields it will hold")


class ImportConfigure(Input):
    """Steps 1-3 of the flow; only the fields present change."""

    sheet: str | None = Field(None, max_length=200)
    mapping: dict[str, str | None] | None = Field(
        None, description="column header -> target (a system field, attributes.<key>, or null)"
    )
    new_fields: list[NewFieldInput] | None = Field(None, max_length=100)
    merge_policy: MergePolicy | None = None
    group_name: str | None = Field(None, min_length=1, max_length=200)
    group_description: str | None = Field(None, max_length=5000)
    group_tags: list[Label] | None = Field(None, max_length=50)
    form_id: str | None = Field(None, description="the form that holds the custom columns")
    new_form: NewFormInput | None = Field(
        None, description="a form to create (instead of form_id), made when the import starts"
    )


class ImportRead(BaseModel):
    id: str
    status: str
    file_name: str
    file_format: str
    file_size: int
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    sheets: list[str]
    headers: list[str]
    mapping: dict[str, str | None]
    new_fields: list[dict[str, Any]]
    dropped_columns: list[str] = Field(
        description="columns whose data will not be stored: ignored, or outside the form"
    )
    outside_form: list[str] = Field(
        description="the dropped columns mapped to a custom field that the form does not hold"
    )
    merge_policy: str
    group_name: str | None
    group_description: str
    group_tags: list[str]
    form_id: str | None
    new_form: NewFormRead | None
    group_id: str | None
    rows_total: int | None
    rows_done: int
    counts: dict[str, int]
    error: str | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class PreviewCell(BaseModel):
    header: str
    target: str | None
    value: Any = Field(description="the stored form, or null")
    error: str | None = None


class PreviewRow(BaseModel):
    number: int
    cells: list[PreviewCell]
    errors: list[str]


class SampleRead(BaseModel):
    rows: list[PreviewRow]


class DryRunRead(BaseModel):
    rows: int
    valid: int
    invalid: int
    new: int
    existing: int
    duplicates: int
    reasons: dict[str, int] = Field(description="why rows are invalid, most frequent first")
    dropped_columns: list[str]
    outside_form: list[str]
