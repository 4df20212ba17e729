"""Who is calling: argon2id password hashes, JWTs, and the middleware that checks them."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Mapping
from uuid import UUID

import jwt
from aiohttp import web
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from chatd import keys
from chatd.config import Config
from chatd.web.errors import ApiError
from chatd.domain.schemas import User

current_user = web.RequestKey("current_user", User)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

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


def issue_token(config: Config, user: User) -> tuple[str, int]:
    """A JWT carrying the seed's `user_id` claim, plus `sub`; returns it and its lifetime."""
    lifetime = config.token_expire_minutes * 60
    now = int(time.time())
    claims = {
        "user_id": str(user.user_id),
        "sub": str(user.user_id),
        "username": user.username,
        "iat": now,
        "exp": now + lifetime,
    }
    return jwt.encode(claims, config.secret_key, algorithm=config.algorithm), lifetime


def token_claims(config: Config, token: str) -> tuple[UUID, float]:
    """The user id a valid token names, and its expiry; ApiError(401) for anything else.

    The algorithm list is fixed by configuration (no `alg: none`, no algorithm the token
    picks) and `exp` is required. Tokens minted by the app chatd was deployed beside carry
    `user_id` but no `sub`; both are accepted.
    """
    try:
        claims = jwt.decode(
            token, config.secret_key, algorithms=[config.algorithm], options={"require": ["exp"]}
        )
    except jwt.ExpiredSignatureError:
        raise ApiError(401, "token has expired") from None
    except jwt.PyJWTError:
        raise ApiError(401, "invalid token") from None
    try:
        return UUID(str(claims.get("user_id") or claims["sub"])), float(claims["exp"])
    except (KeyError, ValueError):
        raise ApiError(401, "token names no user") from None


class VerifiedTokens:
    """Tokens whose signature and claims were already checked, until they expire.

    A client presents the same token with every request and every reconnect; decoding and
    verifying it each time was a tenth of a WebSocket connect's CPU. A token is the exact
    signed string, so a hit proves what the first check proved; only time moves, and a hit
    past its `exp` is checked again in full (and refused as expired).
    """

    def __init__(self, config: Config, size: int = 20_000):
        self._config, self._size = config, size
        self._known: dict[str, tuple[UUID, float]] = {}

    def user_id(self, token: str) -> UUID:
        known = self._known.get(token)
        if known is not None and time.time() < known[1]:
            return known[0]
        user_id, expires = token_claims(self._config, token)
        if len(self._known) >= self._size:
            del self._known[next(iter(self._known))]  # the oldest entry
        self._known[token] = (user_id, expires)
        return user_id


async def authenticate(app: Mapping, token: str) -> User:
    """The user behind a token, who must still exist."""
    user_id = app[keys.tokens].user_id(token)
    row = await app[keys.queries].get_user_by_id(app[keys.pool], user_id=user_id)
    if row is None:
        raise ApiError(401, "token names no user")
    return User(user_id=row["user_id"], username=row["username"])


def bearer_token(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    return token.strip()


def requires_user(handler: Handler) -> Handler:
    """Wraps every endpoint declared with auth=True: the handler finds request[current_user]."""

    @functools.wraps(handler)
    async def authenticated(request: web.Request) -> web.StreamResponse:
        request[current_user] = await authenticate(request.app, bearer_token(request))
        return await handler(request)

    return authenticated
