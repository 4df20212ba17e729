"""Presence: /chat/users/@me/presence (set one's status) and /chat/servers/{server_id}/presences."""

from __future__ import annotations

import typing

from aiohttp import web

from chatd.domain import presence
from chatd.domain.errors import BadInput
from chatd.domain.schemas import MemberPresence, PresenceBody, ShownStatus
from chatd.web.auth import current_user
from chatd.web.encoding import json_response
from chatd.web.endpoints import Endpoint, QueryParam
from chatd.web.requests import json_body, path_uuid, query_int, query_uuid

SHOWN = typing.get_args(ShownStatus)


async def set_my_presence(request: web.Request) -> web.Response:
    user = request[current_user]
    body = await json_body(request, PresenceBody)
    await presence.set_status(request.app, user, body.status)
    return json_response(body)


async def list_presences(request: web.Request) -> web.Response:
    """A page of the server's members by presence, by user id after `after`."""
    user = request[current_user]
    server_id = path_uuid(request, "server_id")
    status = request.query.get("status") or None
    if status is not None and status not in SHOWN:
        raise BadInput(f"status must be one of {', '.join(SHOWN)}")
    after = query_uuid(request, "after")
    limit = query_int(request, "limit", 100, minimum=1, maximum=presence.MAX_PAGE)
    return json_response(await presence.list_presences(request.app, user, server_id, status, after, limit))


ENDPOINTS = [
    Endpoint("PUT", "/chat/users/@me/presence", set_my_presence,
             "Set your status (kept across reconnects); others see invisible as offline", "presence",
             body=PresenceBody, response=PresenceBody, errors=(400,)),
    Endpoint("GET", "/chat/servers/{server_id}/presences", list_presences,
             "The server's members by presence (not offline, or those shown with `status`), by user id",
             "presence", response=list[MemberPresence], errors=(400, 404), query=(
                 QueryParam("status", {"type": "string", "enum": list(SHOWN)},
                            "only members shown with this status; without it, everyone not offline"),
                 QueryParam("after", {"type": "string", "format": "uuid"},
                            "only members with a larger user id (the last of the previous page)"),
                 QueryParam("limit", {"type": "integer", "minimum": 1, "default": 100},
                            f"page size; above {presence.MAX_PAGE} is clamped to {presence.MAX_PAGE}"),
             )),
]
