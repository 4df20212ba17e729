"""Servers (guilds): /chat/servers."""

from __future__ import annotations

from aiohttp import web

from chatd import keys
from chatd.domain import permissions, servers
from chatd.domain.schemas import NewServer, Server, ServerChange
from chatd.domain.views import server_view
from chatd.web.auth import current_user
from chatd.web.encoding import json_response
from chatd.web.endpoints import Endpoint
from chatd.web.requests import json_body, path_uuid


async def list_servers(request: web.Request) -> web.Response:
    user = request[current_user]
    app = request.app
    rows = app[keys.queries].list_servers_of_user(app[keys.pool], user_id=user.user_id)
    return json_response([server_view(row) async for row in rows])


async def create_server(request: web.Request) -> web.Response:
    """The creator becomes its ADMIN, and it starts with a `general` TEXT channel."""
    user = request[current_user]
    body = await json_body(request, NewServer)
    server = await servers.create_server(request.app, user, body.name, body.icon)
    return json_response(server, status=201)


async def get_server(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id = path_uuid(request, "server_id")
    return json_response(server_view(await permissions.require_server(request.app, user, server_id)))


async def update_server(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id = path_uuid(request, "server_id")
    body = await json_body(request, ServerChange)
    await permissions.require_role(request.app, user, server_id, "ADMIN", "change the server")
    return json_response(await servers.update_server(request.app, user, server_id, body))


async def delete_server(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id = path_uuid(request, "server_id")
    await permissions.require_role(request.app, user, server_id, "ADMIN", "delete the server")
    await servers.delete_server(request.app, server_id)
    return web.Response(status=204)


ENDPOINTS = [
    Endpoint("GET", "/chat/servers", list_servers, "The servers the caller belongs to", "servers",
             response=list[Server]),
    Endpoint("POST", "/chat/servers", create_server, "Create a server", "servers",
             body=NewServer, response=Server, status=201, errors=(400,)),
    Endpoint("GET", "/chat/servers/{server_id}", get_server, "A server, with the caller's role", "servers",
             response=Server, errors=(404,)),
    Endpoint("PATCH", "/chat/servers/{server_id}", update_server, "Rename a server and/or set its icon (ADMIN)",
             "servers", body=ServerChange, response=Server, errors=(400, 403, 404)),
    Endpoint("DELETE", "/chat/servers/{server_id}", delete_server, "Delete a server (ADMIN)", "servers",
             status=204, errors=(403, 404)),
]
