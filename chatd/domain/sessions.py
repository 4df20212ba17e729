"""Ending sessions: a logout revokes the token presented; logging out everywhere, changing the
password and deleting the account revoke every token of the user issued until then.

A token's `iat` is in whole seconds, so such a cutoff is the next whole second: every token
issued so far is before it. The caller is answered only once that second has come, so the
token a password change returns, and any login that follows the answer, is issued after it.
Every revocation goes through revoke_tokens (sql/users.sql), whose note closes the sockets
opened with a revoked token on every chatd process.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from chatd import keys
from chatd.domain import logins
from chatd.domain.errors import Forbidden
from chatd.domain.schemas import User
from chatd.domain.tokens import Claims, issue_token

log = logging.getLogger(__name__)


async def confirm_password(app: Mapping, user: User, password: str, address: str) -> None:
    """Changing the password or deleting the account asks for the password again. A wrong one
    is 403, not 401: the token is good, and a 401 tells clients to sign in again. Guesses count
    against the same limits as failed logins (chatd.domain.logins), so a stolen token is no
    way around them."""
    app[keys.hashing].require_room()
    await logins.require_allowed(app, user.username, address)
    password_hash = await app[keys.queries].get_password_hash(app[keys.pool], user_id=user.user_id)
    if not await app[keys.hashing].verify(password_hash, password):
        await logins.record_failure(app, user.username, address)
        raise Forbidden("wrong password")
    await logins.clear(app, user.username)


async def logout(app: Mapping, token: Claims) -> None:
    """The token presented ends (a token without an id, the original deployment's, cannot be
    told apart from the user's others of its kind: they all end)."""
    await revoke(app, app[keys.pool], token.user_id, token=token)
    log.info("event=logout user_id=%s", token.user_id)


async def logout_all(app: Mapping, user: User) -> None:
    cutoff = next_second()
    await revoke(app, app[keys.pool], user.user_id, valid_after=cutoff)
    log.info("event=logout_all user_id=%s", user.user_id)
    await wait_until(cutoff)


async def change_password(app: Mapping, user: User, old_password: str, new_password: str,
                          address: str) -> tuple[str, int]:
    """Every token issued so far ends; the caller gets a fresh one (and its lifetime)."""
    await confirm_password(app, user, old_password, address)
    password_hash = await app[keys.hashing].hash(new_password)
    cutoff = next_second()
    async with app[keys.pool].acquire() as con, con.transaction():
        await app[keys.queries].set_password_hash(con, user_id=user.user_id, password_hash=password_hash)
        await revoke(app, con, user.user_id, valid_after=cutoff)
    log.info("event=password_changed user_id=%s", user.user_id)
    await wait_until(cutoff)
    return issue_token(app[keys.config], user)


async def revoke(app: Mapping, executor: Any, user_id: UUID, token: Claims | None = None,
                 valid_after: datetime | None = None) -> None:
    """One token, or every token of the user issued before `valid_after`; `executor` is the
    pool, or the connection of the transaction this is part of (its note goes out on commit)."""
    expires_at = None if token is None else datetime.fromtimestamp(token.expires, timezone.utc)
    await app[keys.notes].emit(app[keys.queries].revoke_tokens, executor, user_id=user_id,
                               jti=None if token is None else token.jti, expires_at=expires_at,
                               valid_after=valid_after)


def next_second() -> datetime:
    return datetime.fromtimestamp(int(time.time()) + 1, timezone.utc)


async def wait_until(moment: datetime) -> None:
    while (left := moment.timestamp() - time.time()) > 0:
        await asyncio.sleep(left)
