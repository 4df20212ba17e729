"""Bans: /chat/servers/{server_id}/bans."""

from __future__ import annotations

from aiohttp import web

from chatd.domain import bans
from chatd.domain.schemas import Ban, NewBan
from chatd.web.auth import current_user
from chatd.web.encoding import json_response
from chatd.web.endpoints import Endpoint
from chatd.web.requests import json_body, path_uuid


async def ban(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id, target_id = path_uuid(request, "server_id"), path_uuid(request, "user_id")
    body = await json_body(request, NewBan) if request.body_exists else NewBan()
    return json_response(await bans.ban(request.app, user, server_id, target_id, body.reason))


async def lift_ban(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id, target_id = path_uuid(request, "server_id"), path_uuid(request, "user_id")
    await bans.lift_ban(request.app, user, server_id, target_id)
    return web.Response(status=204)


async def list_bans(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id = path_uuid(request, "server_id")
    return json_response(await bans.list_bans(request.app, user, server_id))


_BANS = "/chat/servers/{server_id}/bans"
ENDPOINTS = [
    Endpoint("GET", _BANS, list_bans, "The server's bans (MODERATOR or ADMIN)", "bans", response=list[Ban],
             errors=(403, 404)),
    Endpoint("PUT", _BANS + "/{user_id}", ban,
             "Ban a user: removed from the server, kept out until the ban is lifted (ADMIN; MODERATOR: a MEMBER)",
             "bans", body=NewBan, response=Ban, errors=(400, 403, 404)),
    Endpoint("DELETE", _BANS + "/{user_id}", lift_ban, "Lift a ban (MODERATOR or ADMIN)", "bans", status=204,
             errors=(403, 404)),
]
