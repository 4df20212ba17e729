"""Endpoint declarations: one list drives both the router and /openapi.json."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class QueryParam:
    name: str
    schema: dict[str, Any]
    description: str


@dataclass(frozen=True)
class PathParam:
    """A path parameter that is not an id (every other one is a UUID); `pattern` is what the
    router matches for it."""

    name: str
    schema: dict[str, Any]
    description: str
    pattern: str


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    body: Any = None
    response: Any = None
    status: int = 200
    errors: tuple[int, ...] = ()
    query: tuple[QueryParam, ...] = ()
    auth: bool = True
    # A read by the token's user id alone (request[current_token].user_id): it starts once the
    # token's signature is checked, beside the database's word on revocation, and its answer
    # waits for that word (chatd.web.auth.requires_user).
    early: bool = False
    form: bool = False  # the body may also come as application/x-www-form-urlencoded
    upload: bool = False  # the body is multipart/form-data with one file in the field `file`
    path_params: tuple[PathParam, ...] = ()
    redirect: str | None = None  # it may answer 302 instead: where its Location points

    @property
    def route(self) -> str:
        """The path as the router matches it: `path` with each PathParam's pattern."""
        route = self.path
        for param in self.path_params:
            route = route.replace(f"{{{param.name}}}", f"{{{param.name}:{param.pattern}}}")
        return route


# Where a channel's sub-routes hang: a server's channel, and a conversation (DM), which is a
# channel without a server. A handler reads which with chatd.web.requests.channel_locator.
CHANNEL_PATHS = ("/chat/servers/{server_id}/channels/{channel_id}", "/chat/dms/{dm_id}")


def channel_endpoints(method: str, suffix: str, handler: Handler, summary: str, tag: str,
                      dm_errors: tuple[int, ...] = (), **declared: Any) -> list[Endpoint]:
    """A channel sub-route declared once, as an Endpoint under each of CHANNEL_PATHS; the
    conversation's may answer `dm_errors` too (403 for a send into a blocked 1:1, say)."""
    errors = declared.pop("errors", ())
    return [
        Endpoint(method, CHANNEL_PATHS[0] + suffix, handler, summary, tag, errors=errors, **declared),
        Endpoint(method, CHANNEL_PATHS[1] + suffix, handler, summary + " (in a conversation)", tag,
                 errors=tuple(sorted(set(errors) | set(dm_errors))), **declared),
    ]
