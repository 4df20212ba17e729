"""Bearer tokens: JWTs signed with SECRET_KEY, and the cache of those already verified."""

from __future__ import annotations

import time
from collections.abc import Mapping
from uuid import UUID

import jwt

from chatd import keys
from chatd.config import Config
from chatd.domain.errors import Unauthorized
from chatd.domain.schemas import User

def issue_token(config: Config, user: User) -> tuple[str, int]:
    """A JWT carrying the product spec's `user_id` claim, plus `sub`; returns it and its lifetime."""
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
    """The user id a valid token names, and its expiry; Unauthorized for anything else.

    The algorithm list is fixed by configuration (no `alg: none`, no algorithm the token
    picks) and `exp` is required. Tokens minted by the app chatd was deployed beside carry
    `user_id` but no `sub`; both are accepted.
    """
    try:
        claims = jwt.decode(
            token, config.secret_key, algorithms=[config.algorithm], options={"require": ["exp"]}
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token has expired") from None
    except jwt.PyJWTError:
        raise Unauthorized("invalid token") from None
    try:
        return UUID(str(claims.get("user_id") or claims["sub"])), float(claims["exp"])
    except (KeyError, ValueError):
        raise Unauthorized("token names no user") from None


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
        raise Unauthorized("token names no user")
    return User(user_id=row["user_id"], username=row["username"])
