"""CSV downloads: chunks made on a session of their own, streamed (a people table's
selection, an import's rejected rows)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from coterie.db import get_sessionmaker
from coterie.directory import listing
from coterie.directory.export import export_csv
from coterie.settings import get_settings
from coterie.web.deps import Operator
from coterie.web.table import TableState, parse_rule


def streamed_csv(make: Callable[[Session], tuple[Iterator[str], str]]) -> StreamingResponse:
    """The CSV chunks `make` gives (with the file's name), made on a session that lives as long
    as the stream; the first chunk is made before the response starts, so that an error in the
    request is still a clean error page."""
    session = get_sessionmaker()()
    try:
        chunks, name = make(session)
        first = next(chunks)
    except BaseException:
        session.close()
        raise

    def stream() -> Iterator[str]:
        try:
            yield from itertools.chain([first], chunks)
        finally:
            session.close()

    return StreamingResponse(
        stream(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def people_csv(
    op: Operator, state: TableState, selection: Callable[[Session], tuple[listing.Scope, str]]
) -> StreamingResponse:
    """The people of the scope `selection` gives (with the file's name) that the table's filter
    selects, in its sort order; a bad filter or sort is a clean error."""

    def make(session: Session) -> tuple[Iterator[str], str]:
        scope, name = selection(session)
        chunks = export_csv(
            session,
            actor=op.actor,
            rule=parse_rule(state.filter),
            sort=state.sort,
            descending=state.descending,
            batch_size=get_settings().export_batch_size,
            scope=scope,
        )
        return chunks, name

    return streamed_csv(make)
