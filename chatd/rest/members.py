"""Server membership and roles: /chat/servers/{server_id}/members."""

from __future__ import annotations

import contextlib
from uuid import UUID

from aiohttp import web

from chatd import keys
from chatd.domain import permissions
from chatd.domain.tokens import current_user
from chatd.web.encoding import json_response
from chatd.web.endpoints import Endpoint
from chatd.web.errors import ApiError
from chatd.domain.notes import NOTIFY_CHANNEL
from chatd.web.requests import json_body, path_uuid
from chatd.domain.schemas import Member, NewMember, RoleChange
from chatd.domain.views import member_view

LAST_ADMIN = "the last ADMIN cannot leave or be demoted; make someone else ADMIN first"


async def list_members(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id = path_uuid(request, "server_id")
    await permissions.require_member(request.app, user, server_id)
    rows = await permissions.get_server_members(request.app, server_id)
    return json_response([member_view(row) for row in rows])


async def add_member(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id = path_uuid(request, "server_id")
    body = await json_body(request, NewMember)
    app = request.app
    permissions.check_add_member(await permissions.require_member(app, user, server_id), body.role)
    target_id = await _resolve_user(app, body)
    row = await app[keys.queries].add_member(
        app[keys.pool], notify_channel=NOTIFY_CHANNEL, server_id=server_id, user_id=target_id, role=body.role
    )
    if row is None:
        raise ApiError(409, "already a member of this server")
    return json_response(member_view(row), status=201)


async def remove_member(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id, target_id = path_uuid(request, "server_id"), path_uuid(request, "user_id")
    app = request.app
    actor_role = await permissions.require_member(app, user, server_id)
    async with _member_change(app, server_id, target_id) as (con, target_role, admins):
        permissions.check_remove_member(user, actor_role, target_id, target_role)
        if target_role == "ADMIN" and admins <= 1:
            raise ApiError(409, LAST_ADMIN)
        await app[keys.queries].remove_member(
            con, notify_channel=NOTIFY_CHANNEL, server_id=server_id, user_id=target_id
        )
    return web.Response(status=204)


async def change_role(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id, target_id = path_uuid(request, "server_id"), path_uuid(request, "user_id")
    body = await json_body(request, RoleChange)
    app = request.app
    await permissions.require_role(app, user, server_id, "ADMIN", "change roles")
    async with _member_change(app, server_id, target_id) as (con, target_role, admins):
        if target_role == "ADMIN" and body.role != "ADMIN" and admins <= 1:
            raise ApiError(409, LAST_ADMIN)
        row = await app[keys.queries].set_member_role(con, server_id=server_id, user_id=target_id, role=body.role)
    return json_response(member_view(row))


@contextlib.asynccontextmanager
async def _member_change(app, server_id: UUID, target_id: UUID):
    """A transaction holding the server row's lock, so two ADMINs removing or demoting each
    other at once cannot both see "another ADMIN remains". Yields the connection, the
    target's role and the number of ADMINs; 404 when the target is not a member."""
    queries = app[keys.queries]
    async with app[keys.pool].acquire() as con, con.transaction():
        await queries.lock_server(con, server_id=server_id)
        admins = await queries.count_server_admins(con, server_id=server_id)
        target_role = await queries.get_member_role(con, server_id=server_id, user_id=target_id)
        if target_role is None:
            raise ApiError(404, "member not found")
        yield con, target_role, admins


async def _resolve_user(app, body: NewMember) -> UUID:
    if (body.user_id is None) == (body.username is None):
        raise ApiError(400, "give exactly one of user_id or username")
    queries, pool = app[keys.queries], app[keys.pool]
    if body.user_id is not None:
        row = await queries.get_user_by_id(pool, user_id=body.user_id)
    else:
        row = await queries.get_user_by_username(pool, username=body.username)
    if row is None:
        raise ApiError(404, "user not found")
    return row["user_id"]


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
