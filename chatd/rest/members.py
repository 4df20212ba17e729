"""Server membership and roles: /chat/servers/{server_id}/members."""

from __future__ import annotations

from aiohttp import web

from chatd.domain import members, permissions
from chatd.domain.schemas import Member, NewMember, RoleChange
from chatd.web.auth import current_user
from chatd.web.encoding import json_response
from chatd.web.endpoints import Endpoint
from chatd.web.requests import json_body, path_uuid


async def list_members(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id = path_uuid(request, "server_id")
    await permissions.require_member(request.app, user, server_id)
    return json_response(await members.list_members(request.app, server_id))


async def add_member(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id = path_uuid(request, "server_id")
    body = await json_body(request, NewMember)
    member = await members.add_member(request.app, user, server_id, body.user_id, body.username, body.role)
    return json_response(member, status=201)


async def remove_member(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id, target_id = path_uuid(request, "server_id"), path_uuid(request, "user_id")
    await members.remove_member(request.app, user, server_id, target_id)
    return web.Response(status=204)


async def change_role(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id, target_id = path_uuid(request, "server_id"), path_uuid(request, "user_id")
    body = await json_body(request, RoleChange)
    return json_response(await members.change_role(request.app, user, server_id, target_id, body.role))


_MEMBERS = "/chat/servers/{server_id}/members"
ENDPOINTS = [
    Endpoint("GET", _MEMBERS, list_members, "The server's members and their roles", "members",
             response=list[Member], errors=(404,)),
    Endpoint("POST", _MEMBERS, add_member, "Add a member (MODERATOR: as MEMBER; ADMIN: any role)",
             "members", body=NewMember, response=Member, status=201, errors=(400, 403, 404, 409)),
    Endpoint("DELETE", _MEMBERS + "/{user_id}", remove_member,
             "Remove a member, or leave (yourself)", "members", status=204, errors=(403, 404, 409)),
    Endpoint("PATCH", _MEMBERS + "/{user_id}", change_role, "Change a member's role (ADMIN)", "members",
             body=RoleChange, response=Member, errors=(400, 403, 404, 409)),
]
