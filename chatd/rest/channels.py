"""Channels of a server: /chat/servers/{server_id}/channels."""

from __future__ import annotations

from aiohttp import web

from chatd import keys
from chatd.domain import channels, permissions
from chatd.domain.schemas import Channel, ChannelChange, NewChannel
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
    channel = await channels.create_channel(request.app, server_id, body.name, body.type, body.position,
                                            body.category_id)
    return json_response(channel, status=201)


async def update_channel(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id, channel_id = path_uuid(request, "server_id"), path_uuid(request, "channel_id")
    body = await json_body(request, ChannelChange)
    await permissions.require_role(request.app, user, server_id, "ADMIN", "change channels")
    return json_response(await channels.update_channel(request.app, server_id, channel_id, body))


async def delete_channel(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id, channel_id = path_uuid(request, "server_id"), path_uuid(request, "channel_id")
    await permissions.require_role(request.app, user, server_id, "ADMIN", "delete channels")
    await channels.delete_channel(request.app, server_id, channel_id)
    return web.Response(status=204)


ENDPOINTS = [
    Endpoint("GET", "/chat/servers/{server_id}/channels", list_channels,
             "The server's channels: uncategorized first, then by category and position", "channels",
             response=list[Channel], errors=(404,)),
    Endpoint("POST", "/chat/servers/{server_id}/channels", create_channel, "Create a channel (ADMIN)",
             "channels", body=NewChannel, response=Channel, status=201, errors=(400, 403, 404)),
    Endpoint("PATCH", "/chat/servers/{server_id}/channels/{channel_id}", update_channel,
             "Rename a channel and/or set its topic (ADMIN)", "channels", body=ChannelChange, response=Channel,
             errors=(400, 403, 404)),
    Endpoint("DELETE", "/chat/servers/{server_id}/channels/{channel_id}", delete_channel,
             "Delete a channel with its messages (ADMIN)", "channels", status=204, errors=(403, 404)),
]
