"""Accounts: sign-up and password login (hashes by chatd.domain.passwords, guessing throttled
by chatd.domain.logins)."""

from __future__ import annotations

from collections.abc import Mapping

from chatd import keys
from chatd.domain import logins
from chatd.domain.errors import Conflict, WrongCredentials
from chatd.domain.schemas import User


async def create_account(app: Mapping, username: str, password: str, email: str | None) -> User:
    row = await app[keys.queries].create_user(
        app[keys.pool], username=username, password_hash=await app[keys.hashing].hash(password), email=email
    )
    if row is None:
        raise Conflict(f"username {username!r} is taken")
    return User(user_id=row["user_id"], username=row["username"])


async def check_password(app: Mapping, username: str, password: str, address: str) -> User:
    """The account these credentials open, for a client at `address`. An unknown user and a
    wrong password get the same answer after the same work, and count the same against the
    limits."""
    app[keys.hashing].require_room()
    await logins.require_allowed(app, username, address)
    row = await app[keys.queries].get_user_by_username(app[keys.pool], username=username)
    if not await app[keys.hashing].verify(row["password_hash"] if row else None, password):
        await logins.record_failure(app, username, address)
        raise WrongCredentials("wrong username or password")
    await logins.clear(app, username)
    return User(row["user_id"], row["username"])
