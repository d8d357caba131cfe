"""Saving an uploaded stream to disk within a size limit, leaving nothing behind on failure."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from coterie.errors import Invalid, TooLarge

_CHUNK = 1024 * 1024
_MB = 1024 * 1024


@dataclass(frozen=True)
class Saved:
    size: int
    sha256: str


def too_large(limit: int) -> TooLarge:
    """The refusal of a file over the limit, which says the limit (bytes when under a MB)."""
    shown = f"{limit / _MB:g} MB" if limit >= _MB else f"{limit:,} bytes"
    return TooLarge(f"Files are limited to {shown}")


def save(stream: BinaryIO, target: Path, *, limit: int) -> Saved:
    """Copy `stream` to `target` in chunks; over `limit` bytes is TooLarge, empty is Invalid."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    try:
        with target.open("wb") as out:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise too_large(limit)
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise Invalid("The file is empty", field="file")
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return Saved(size, digest.hexdigest())
