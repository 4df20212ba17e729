"""The bearer token of a request: read from its Authorization header and resolved to a user
before any endpoint declared with auth=True runs (an early read: before it answers)."""

from __future__ import annotations

import asyncio
import functools

from aiohttp import web

from chatd.domain.schemas import User
from chatd.domain.tokens import Claims, token_user, verified_claims
from chatd.web.endpoints import Handler
from chatd.web.errors import ApiError

current_user = web.RequestKey("current_user", User)
current_token = web.RequestKey("current_token", Claims)  # what a logout revokes


def bearer_token(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    return token.strip()


def requires_user(handler: Handler, early: bool = False) -> Handler:
    """Wraps every endpoint declared with auth=True: the handler finds request[current_user]
    and the token's claims in request[current_token].

    An `early` endpoint (a read by the token's user id alone, request[current_token].user_id)
    starts as soon as the signature is checked, beside the lookup of the user and the token's
    revocation, and nothing is answered until that lookup passes: a revoked token, or one
    whose user is gone, gets its 401 and the read is cancelled or thrown away. The lookup is a
    database round trip; a heavy read no longer waits for it before starting its own."""

    @functools.wraps(handler)
    async def authenticated(request: web.Request) -> web.StreamResponse:
        claims = request[current_token] = verified_claims(request.app, bearer_token(request))
        if not early:
            request[current_user] = await token_user(request.app, claims)
            return await handler(request)
        answer = asyncio.ensure_future(handler(request))
        try:
            request[current_user] = await token_user(request.app, claims)
        except BaseException:
            answer.cancel()
            await asyncio.gather(answer, return_exceptions=True)  # its outcome is not the answer
            raise
        return await answer

    return authenticated
