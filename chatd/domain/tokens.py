"""Bearer tokens: JWTs signed with SECRET_KEY, the cache of those already verified, and the
rule that says which were revoked."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from uuid import UUID

import jwt
import msgspec

from chatd import keys
from chatd.config import Config
from chatd.domain.errors import Unauthorized
from chatd.domain.notes import TokensRevokedNote
from chatd.domain.schemas import User
from chatd.store.batching import Batcher

TOKEN_REVOKED = "token revoked"


class Claims(msgspec.Struct, frozen=True, gc=False):
    """What chatd uses of a verified token. One object per token, shared by the cache and by
    every socket opened with it (each socket keeps it to be closed when it is revoked)."""

    user_id: UUID
    expires: float
    jti: UUID | None = None
    # None for a token without an id (the original deployment's): it counts as issued before
    # any revocation, so the user's first one ends it.
    issued_at: int | None = None

    def revoked(self, valid_after: datetime | None, jti_revoked: bool) -> bool:
        """The rule: revoked by itself, or issued before the user's tokens_valid_after (None:
        they never revoked anything)."""
        if jti_revoked:
            return True
        return valid_after is not None and (self.issued_at is None or self.issued_at < valid_after.timestamp())

    def revoked_by(self, note: TokensRevokedNote) -> bool:
        return self.user_id == note.user_id and self.revoked(
            note.valid_after, note.jti is not None and note.jti == self.jti)


def issue_token(config: Config, user: User) -> tuple[str, int]:
    """A JWT carrying the product spec's `user_id` claim, plus `sub` and an id of its own
    (`jti`, what a logout revokes); returns it and its lifetime."""
    lifetime = config.token_expire_minutes * 60
    now = int(time.time())
    claims = {
        "user_id": str(user.user_id),
        "sub": str(user.user_id),
        "username": user.username,
        "iat": now,
        "exp": now + lifetime,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, config.secret_key, algorithm=config.algorithm), lifetime


def token_claims(config: Config, token: str) -> Claims:
    """The claims of a valid token; Unauthorized for anything else.

    The algorithm list is fixed by configuration (no `alg: none`, no algorithm the token
    picks) and `exp` is required. Tokens minted by the app chatd was deployed beside carry
    `user_id` but no `sub` and no `jti`; they are accepted until the user first revokes a token.
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
        user_id = UUID(str(claims.get("user_id") or claims["sub"]))
    except (KeyError, ValueError):
        raise Unauthorized("token names no user") from None
    if "jti" not in claims:
        return Claims(user_id, float(claims["exp"]))
    try:
        jti = UUID(str(claims["jti"]))
    except ValueError:
        raise Unauthorized("invalid token") from None
    issued_at = claims.get("iat")
    return Claims(user_id, float(claims["exp"]), jti, None if issued_at is None else int(issued_at))


class VerifiedTokens:
    """Tokens whose signature and claims were already checked, until they expire.

    A client presents the same token with every request and every reconnect; decoding and
    verifying it each time was a tenth of a WebSocket connect's CPU. A token is the exact
    signed string, so a hit proves what the first check proved; only time moves, and a hit
    past its `exp` is checked again in full (and refused as expired).

    Revocation is not the cache's to know: it is what the signature cannot prove, so every
    use of a token asks the database (authenticate per request, the connect lookup per
    socket) and a revoked token is refused whether or not it is cached here.
    """

    def __init__(self, config: Config, size: int = 20_000):
        self._config, self._size = config, size
        self._known: dict[str, Claims] = {}

    def claims(self, token: str) -> Claims:
        known = self._known.get(token)
        if known is not None and time.time() < known.expires:
            return known
        claims = token_claims(self._config, token)
        if len(self._known) >= self._size:
            del self._known[next(iter(self._known))]  # the oldest entry
        self._known[token] = claims
        return claims


class TokenUsers:
    """The user behind each token of the authenticated requests that arrive together, in one
    query (chatd.store.batching): every REST request asks the database whether its token was
    revoked, and under load that was a round trip and a pool checkout per request."""

    def __init__(self, pool, queries):
        self._pool, self._queries = pool, queries
        self._batcher: Batcher[Claims, User | Exception] = Batcher(self._look_up)

    async def user(self, claims: Claims) -> User:
        return await self._batcher.submit(claims)

    async def drain(self) -> None:
        await self._batcher.drain()

    async def _look_up(self, batch: list[Claims]) -> list[User | Exception]:
        rows = self._queries.get_token_users(self._pool, user_ids=[c.user_id for c in batch],
                                             jtis=[c.jti for c in batch])
        found = {row["ord"]: row async for row in rows}
        return [_token_user(claims, found.get(k)) for k, claims in enumerate(batch, 1)]


def _token_user(claims: Claims, row) -> User | Exception:
    if row is None:
        return Unauthorized("token names no user")
    if claims.revoked(row["tokens_valid_after"], row["jti_revoked"]):
        return Unauthorized(TOKEN_REVOKED)
    return User(user_id=row["user_id"], username=row["username"])


async def token_users_ctx(app) -> AsyncIterator[None]:
    """cleanup_ctx (after the pool)."""
    lookup = app[keys.token_users] = TokenUsers(app[keys.pool], app[keys.queries])
    yield
    await lookup.drain()


def verified_claims(app: Mapping, token: str) -> Claims:
    """The claims of a token whose signature and expiry hold: who it names, not yet whether
    it may still be used (token_user)."""
    return app[keys.tokens].claims(token)


async def token_user(app: Mapping, claims: Claims) -> User:
    """The user a token names, who must still exist; the database also tells whether the
    token was revoked."""
    return await app[keys.token_users].user(claims)
