"""Conversations (direct messages): /chat/dms and their people. Their messages and everything
under them are the channel routes' (chatd.web.endpoints.channel_endpoints: /chat/dms/{dm_id}/...)."""

from __future__ import annotations

from aiohttp import web

from chatd.domain import dms
from chatd.domain.schemas import DirectMessage, NewDm
from chatd.web.auth import current_user
from chatd.web.encoding import json_response
from chatd.web.endpoints import Endpoint
from chatd.web.requests import json_body, path_uuid


async def open_dm(request: web.Request) -> web.Response:
    user = request[current_user]
    body = await json_body(request, NewDm)
    dm, created = await dms.open_dm(request.app, user, body.recipient_ids)
    return json_response(dm, status=201 if created else 200)


async def list_dms(request: web.Request) -> web.Response:
    return json_response(await dms.list_dms(request.app, request[current_user]))


async def get_dm(request: web.Request) -> web.Response:
    return json_response(await dms.get_dm(request.app, request[current_user], path_uuid(request, "dm_id")))


async def add_recipient(request: web.Request) -> web.Response:
    user = request[current_user]
    dm_id, target_id = path_uuid(request, "dm_id"), path_uuid(request, "user_id")
    await dms.add_recipient(request.app, user, dm_id, target_id)
    return web.Response(status=204)


async def remove_recipient(request: web.Request) -> web.Response:
    user = request[current_user]
    dm_id, target_id = path_uuid(request, "dm_id"), path_uuid(request, "user_id")
    await dms.remove_recipient(request.app, user, dm_id, target_id)
    return web.Response(status=204)


async def leave(request: web.Request) -> web.Response:
    user = request[current_user]
    await dms.remove_recipient(request.app, user, path_uuid(request, "dm_id"), user.user_id)
    return web.Response(status=204)


_DMS = "/chat/dms"
_RECIPIENTS = _DMS + "/{dm_id}/recipients"
ENDPOINTS = [
    Endpoint("POST", _DMS, open_dm,
             "Open a conversation: with one user, your 1:1 (200 if it exists, 201 if made); with 2-9, a new group "
             "you own. Each must share a server with you, neither blocking the other", "dms",
             body=NewDm, response=DirectMessage, status=201, errors=(400, 403, 404)),
    Endpoint("GET", _DMS, list_dms, "Your conversations, the one with the latest message first", "dms",
             response=list[DirectMessage]),
    Endpoint("GET", _DMS + "/{dm_id}", get_dm, "A conversation you are in", "dms", response=DirectMessage,
             errors=(404,)),
    Endpoint("PUT", _RECIPIENTS + "/{user_id}", add_recipient,
             "Add someone to a group you own (at most 10 people; someone in it already: nothing changes)", "dms",
             status=204, errors=(400, 403, 404)),
    # Before the {user_id} route, which "@me" would match too.
    Endpoint("DELETE", _RECIPIENTS + "/@me", leave,
             "Leave a group (the owner's leaving hands it to whoever has been in it longest)", "dms",
             status=204, errors=(400, 404)),
    Endpoint("DELETE", _RECIPIENTS + "/{user_id}", remove_recipient,
             "Remove someone from a group you own (or leave it: your own id)", "dms",
             status=204, errors=(400, 403, 404)),
]
