"""The bearer token of a request: read from its Authorization header and resolved to a user
before any endpoint declared with auth=True runs."""

from __future__ import annotations

import functools

from aiohttp import web

from chatd.domain.schemas import User
from chatd.domain.tokens import Claims, authenticate
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


def requires_user(handler: Handler) -> Handler:
    """Wraps every endpoint declared with auth=True: the handler finds request[current_user]
    and the token's claims in request[current_token]."""

    @functools.wraps(handler)
    async def authenticated(request: web.Request) -> web.StreamResponse:
        request[current_user], request[current_token] = await authenticate(request.app, bearer_token(request))
        return await handler(request)

    return authenticated
