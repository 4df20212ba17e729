"""Channels of a server: /chat/servers/{server_id}/channels."""

from __future__ import annotations

from aiohttp import web

from chatd import keys
from chatd.domain import channels, permissions
from chatd.domain.schemas import Channel, NewChannel
from chatd.domain.views import channel_view
from chatd.web.auth import current_user
from chatd.web.encoding import json_response
from chatd.web.endpoints import Endpoint
from chatd.web.requests import json_body, path_uuid


async def list_channels(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id = path_uuid(request, "server_id")
    app = request.app
    await permissions.require_member(app, user, server_id)
    rows = app[keys.queries].list_channels(app[keys.pool], server_id=server_id)
    return json_response([channel_view(row) async for row in rows])


async def create_channel(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id = path_uuid(request, "server_id")
    body = await json_body(request, NewChannel)
    await permissions.require_role(request.app, user, server_id, "ADMIN", "create channels")
    channel = await channels.create_channel(request.app, server_id, body.name, body.type, body.position)
    return json_response(channel, status=201)


ENDPOINTS = [
    Endpoint("GET", "/chat/servers/{server_id}/channels", list_channels,
             "The server's channels, by position", "channels", response=list[Channel], errors=(404,)),
    Endpoint("POST", "/chat/servers/{server_id}/channels", create_channel, "Create a channel (ADMIN)",
             "channels", body=NewChannel, response=Channel, status=201, errors=(400, 403, 404)),
]
