"""Channels of a server: /chat/servers/{server_id}/channels."""

from __future__ import annotations

from aiohttp import web

from chatd import keys
from chatd.domain import permissions
from chatd.domain.tokens import current_user
from chatd.web.encoding import json_response
from chatd.web.endpoints import Endpoint
from chatd.domain.notes import NOTIFY_CHANNEL
from chatd.web.requests import json_body, path_uuid
from chatd.domain.schemas import Channel, NewChannel
from chatd.domain.views import channel_view


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
    app = request.app
    await permissions.require_role(app, user, server_id, "ADMIN", "create channels")
    row = await app[keys.queries].create_channel(
        app[keys.pool], notify_channel=NOTIFY_CHANNEL, server_id=server_id, name=body.name,
        type=body.type.upper(), position=body.position,
    )
    return json_response(channel_view(row), status=201)


ENDPOINTS = [
    Endpoint("GET", "/chat/servers/{server_id}/channels", list_channels,
             "The server's channels, by position", "channels", response=list[Channel], errors=(404,)),
    Endpoint("POST", "/chat/servers/{server_id}/channels", create_channel, "Create a channel (ADMIN)",
             "channels", body=NewChannel, response=Channel, status=201, errors=(400, 403, 404)),
]
