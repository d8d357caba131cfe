"""Signing in and out of the admin UI, with sign-in attempts rate limited per address and email."""

from __future__ import annotations

import math
import time
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request, Response
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from coterie.access import roles
from coterie.actor import Role
from coterie.directory import signin
from coterie.errors import CoterieError
from coterie.web.deps import (
    FormDep,
    SessionDep,
    WebRoute,
    check_csrf,
    flash,
    redirect,
    render,
    sign_in,
)

router = APIRouter(route_class=WebRoute, dependencies=[Depends(check_csrf)])


class LoginLimiter:
    """At most `per_minute` attempts per client address and email, in a moving one-minute window.

    A successful sign-in clears the count, so only strings of failures lock anyone out.
    """

    def __init__(self, per_minute: int) -> None:
        self.item = RateLimitItemPerMinute(max(1, per_minute))
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def retry_after(self, key: str) -> int | None:
        """Seconds to wait when the limit is reached, else None (and the attempt is counted)."""
        if self.limiter.hit(self.item, key):
            return None
        reset = self.limiter.get_window_stats(self.item, key).reset_time
        return max(1, math.ceil(reset - time.time()))

    def clear(self, key: str) -> None:
        self.limiter.clear(self.item, key)


def _safe_next(target: str) -> str:
    """Only a path on this site, so the login page cannot send anyone elsewhere."""
    parts = urlsplit(target)
    # Browsers read "/\host" as "//host", so a backslash after the first slash is refused too.
    if not target.startswith("/") or target[1:2] in ("/", "\\") or parts.scheme or parts.netloc:
        return "/users"
    return target


def _login_page(
    request: Request,
    *,
    slug: str = "",
    email: str = "",
    error: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    context = {
        "slug": slug,
        "email": email,
        "error": error,
        "next": _safe_next(request.query_params.get("next", "/users")),
        "who": None,
    }
    return render(request, "login.html", context, status=status, headers=headers)


@router.get("/login")
def login_page(request: Request) -> Response:
    if isinstance(request.session.get("operator"), dict):
        return redirect(_safe_next(request.query_params.get("next", "/users")))
    return _login_page(request)


@router.post("/login", openapi_extra=roles.needs(roles.OWN_AUTH))
def login(request: Request, session: SessionDep, form: FormDep) -> Response:
    slug = str(form.get("workspace", "")).strip().lower()[:63]
    email = str(form.get("email", "")).strip()[:320]
    password = str(form.get("password", ""))[:200]
    limiter: LoginLimiter = request.app.state.login_limiter
    client = request.client.host if request.client else "unknown"
    key = f"{client}|{email.lower()}"
    wait = limiter.retry_after(key)
    if wait is not None:
        message = (
            f"Too many sign-in attempts for {email or 'this address'}. "
            f"Wait {wait} second{'s' if wait != 1 else ''} and try again."
        )
        return _login_page(
            request,
            slug=slug,
            email=email,
            error=message,
            status=429,
            headers={"Retry-After": str(wait)},
        )
    try:
        user = signin.authenticate(session, slug=slug, email=email, password=password)
        session.commit()
    except CoterieError as exc:
        session.rollback()
        return _login_page(request, slug=slug, email=email, error=exc.detail, status=exc.status)
    limiter.clear(key)
    sign_in(request, user)
    return redirect(_safe_next(str(form.get("next", "/users"))))


@router.post("/logout", openapi_extra=roles.needs(Role.IDENTIFIED_ONLY))
def logout(request: Request) -> Response:
    request.session.clear()
    flash(request, "You are signed out.", "info")
    return redirect("/login", request)
