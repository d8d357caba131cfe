"""The errors services raise; `coterie.api.problems` maps each to an RFC 9457 problem.

CoterieError
├── Invalid       400  bad input; names each field and what is wrong with it
├── Unauthorized  401  no or bad credentials
├── Forbidden     403  the caller's role may not do this
├── NotFound      404  no such record in the caller's workspace
├── Conflict      409  would break a uniqueness rule; names the existing record
├── TooLarge      413  an upload over the workspace's limit
└── RateLimited   429  too many attempts; says when to retry
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field, by a dotted path (`emails.0`, `filter.all[1].op`)."""

    field: str
    message: str


class CoterieError(Exception):
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class Invalid(CoterieError):
    status = 400
    title = "Invalid input"

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        errors: list[FieldError] | None = None,
    ) -> None:
        found = list(errors or [])
        if field is not None:
            found.insert(0, FieldError(field, detail))
        super().__init__(detail)
        self.errors = found


class Unauthorized(CoterieError):
    status = 401
    title = "Not signed in"


class Forbidden(CoterieError):
    status = 403
    title = "Forbidden"


class NotFound(CoterieError):
    status = 404
    title = "Not found"


class Conflict(CoterieError):
    status = 409
    title = "Conflict"


class TooLarge(CoterieError):
    status = 413
    title = "Too large"


class RateLimited(CoterieError):
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
