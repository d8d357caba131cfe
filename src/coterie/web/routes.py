"""The admin web UI and member page (being built)."""

from __future__ import annotations

from fastapi import FastAPI

from coterie.settings import Settings


def install(app: FastAPI, settings: Settings) -> None:
    """Mount the web UI's routes, static files and session middleware on `app`."""
