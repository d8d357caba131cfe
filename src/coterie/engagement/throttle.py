"""Rate limits on code guessing: failed redemptions per member and per client address.

`limits` with a moving one-minute window, in memory by default (one process) and in Redis when
`COTERIE_REDIS_URL` is set, so every server process shares the count. Only failures count: a
member redeeming good codes is never slowed down.
"""

from __future__ import annotations

import math
import time
from typing import cast

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from coterie.errors import RateLimited
from coterie.settings import get_settings


class GuessLimiter:
    def __init__(self, *, per_member: int, per_address: int, redis_url: str | None = None) -> None:
        storage = cast(Storage, storage_from_string(redis_url)) if redis_url else MemoryStorage()
        self.limiter = MovingWindowRateLimiter(storage)
        self.member = RateLimitItemPerMinute(max(1, per_member), namespace="coterie-code-member")
        self.address = RateLimitItemPerMinute(max(1, per_address), namespace="coterie-code-addr")

    def _keys(self, member_key: str, address: str) -> list[tuple[RateLimitItemPerMinute, str]]:
        return [(self.member, member_key), (self.address, address)]

    def check(self, member_key: str, address: str) -> None:
        """Raise `RateLimited` (with seconds to wait) when either limit is used up."""
        for item, key in self._keys(member_key, address):
            if not self.limiter.test(item, key):
                reset = self.limiter.get_window_stats(item, key).reset_time
                wait = max(1, math.ceil(reset - time.time()))
                raise RateLimited(
                    f"Too many wrong codes. Wait {wait} second{'s' if wait != 1 else ''} "
                    "and try again.",
                    retry_after=wait,
                )

    def failed(self, member_key: str, address: str) -> None:
        for item, key in self._keys(member_key, address):
            self.limiter.hit(item, key)


def shared(holder: object) -> GuessLimiter:
    """The limiter kept on `holder` (the application's state), built from settings on first use,
    so the member API and the member page count the same guesses."""
    limiter = getattr(holder, "code_limiter", None)
    if not isinstance(limiter, GuessLimiter):
        settings = get_settings()
        limiter = GuessLimiter(
            per_member=settings.code_attempts_per_member,
            per_address=settings.code_attempts_per_address,
            redis_url=settings.redis_url,
        )
        setattr(holder, "code_limiter", limiter)  # noqa: B010
    return limiter
