"""Login throttling: failed logins counted per username (any case) and per client address in
PostgreSQL (sql/logins.sql), so every chatd process refuses the same guesser. Checked before
any password work: over a limit, even the right password is refused, and no argon2 time is
spent on the guess."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from chatd import keys
from chatd.domain.errors import RateLimited


def username_key(username: str) -> str:
    """A digest, not the name: what was typed as a username is sometimes a password."""
    return "user:" + hashlib.sha256(username.lower().encode()).hexdigest()[:32]


def address_key(address: str) -> str:
    return "addr:" + address


async def require_allowed(app: Mapping, username: str, address: str) -> None:
    limits = app[keys.config].login_limits
    wait = await app[keys.queries].login_retry_after(
        app[keys.pool], username_key=username_key(username), username_limit=limits.per_username,
        address_key=address_key(address), address_limit=limits.per_address, window_seconds=limits.window_seconds)
    if wait is not None:
        raise RateLimited("too many failed logins, retry later", retry_after=max(wait, 0.0))


async def record_failure(app: Mapping, username: str, address: str) -> None:
    await app[keys.queries].record_login_failure(
        app[keys.pool], username_key=username_key(username), address_key=address_key(address),
        window_seconds=app[keys.config].login_limits.window_seconds)


async def clear(app: Mapping, username: str) -> None:
    await app[keys.queries].clear_login_failures(app[keys.pool], username_key=username_key(username))
