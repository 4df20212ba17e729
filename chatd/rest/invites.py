"""Invite links: /chat/servers/{server_id}/invites, the preview at /invites/{code} (no token)
and /chat/invites/{code}/accept."""

from __future__ import annotations

from aiohttp import web

from chatd import keys
from chatd.domain import invites
from chatd.domain.schemas import Invite, InvitePreview, NewInvite, Server
from chatd.web.auth import current_user
from chatd.web.encoding import json_response
from chatd.web.endpoints import Endpoint, PathParam
from chatd.web.requests import client_address, json_body, path_uuid


async def create_invite(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id = path_uuid(request, "server_id")
    body = await json_body(request, NewInvite) if request.body_exists else NewInvite()
    invite = await invites.create_invite(request.app, user, server_id, body.max_age_seconds, body.max_uses)
    return json_response(invite, status=201)


async def list_invites(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id = path_uuid(request, "server_id")
    return json_response(await invites.list_invites(request.app, user, server_id))


async def revoke_invite(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id = path_uuid(request, "server_id")
    await invites.revoke_invite(request.app, user, server_id, request.match_info["code"])
    return web.Response(status=204)


async def preview_invite(request: web.Request) -> web.Response:
    address = client_address(request, request.app[keys.config].trusted_proxies)
    return json_response(await invites.preview_invite(request.app, request.match_info["code"], address))


async def accept_invite(request: web.Request) -> web.Response:
    user = request[current_user]
    return json_response(await invites.accept_invite(request.app, user, request.match_info["code"]))


_INVITES = "/chat/servers/{server_id}/invites"
_CODE = (PathParam("code", {"type": "string", "examples": ["Kq7mZ3xPbT"]},
                   "an invite's code, as its link carries it", pattern="[^/]+"),)
ENDPOINTS = [
    Endpoint("POST", _INVITES, create_invite, "Create an invite link (MODERATOR or ADMIN)", "invites",
             body=NewInvite, response=Invite, status=201, errors=(400, 403, 404)),
    Endpoint("GET", _INVITES, list_invites, "The server's invites that still let people in (MODERATOR or ADMIN)",
             "invites", response=list[Invite], errors=(403, 404)),
    Endpoint("DELETE", _INVITES + "/{code}", revoke_invite, "Revoke an invite (MODERATOR or ADMIN)", "invites",
             status=204, errors=(403, 404), path_params=_CODE),
    Endpoint("GET", "/invites/{code}", preview_invite,
             "What an invite leads to: the server's name, icon, member count, and when the invite expires",
             "invites", response=InvitePreview, errors=(404, 429), auth=False, path_params=_CODE),
    Endpoint("POST", "/chat/invites/{code}/accept", accept_invite,
             "Join the invite's server as a MEMBER (a member already: nothing changes)", "invites",
             response=Server, errors=(403, 404), path_params=_CODE),
]
