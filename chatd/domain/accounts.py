"""Accounts: argon2id password hashes, sign-up and password login."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from chatd import keys
from chatd.domain.errors import Conflict, WrongCredentials
from chatd.domain.schemas import User

_hasher = PasswordHasher()  # argon2id with the library's recommended parameters
# Verified against when the username is unknown, so both failures cost the same time.
_UNKNOWN_USER_HASH = _hasher.hash("chatd: no such user")


async def hash_password(password: str) -> str:
    """Hashing takes tens of milliseconds of CPU: keep it off the event loop."""
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash or _UNKNOWN_USER_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


async def create_account(app: Mapping, username: str, password: str, email: str | None) -> User:
    row = await app[keys.queries].create_user(
        app[keys.pool], username=username, password_hash=await hash_password(password), email=email
    )
    if row is None:
        raise Conflict(f"username {username!r} is taken")
    return User(user_id=row["user_id"], username=row["username"])


async def check_password(app: Mapping, username: str, password: str) -> User:
    """The account these credentials open. An unknown user and a wrong password get the same
    answer after the same work."""
    row = await app[keys.queries].get_user_by_username(app[keys.pool], username=username)
    if not await verify_password(row["password_hash"] if row else None, password):
        raise WrongCredentials("wrong username or password")
    return User(row["user_id"], row["username"])
