"""Blocks: /chat/users/@me/blocks. A block is private: the blocked user is told only that they
cannot message the blocker (chatd.domain.permissions.UNREACHABLE)."""

from __future__ import annotations

from aiohttp import web

from chatd.domain import blocks
from chatd.domain.schemas import Block
from chatd.web.auth import current_user
from chatd.web.encoding import json_response
from chatd.web.endpoints import Endpoint
from chatd.web.requests import path_uuid


async def list_blocks(request: web.Request) -> web.Response:
    return json_response(await blocks.list_blocks(request.app, request[current_user]))


async def block(request: web.Request) -> web.Response:
    await blocks.block(request.app, request[current_user], path_uuid(request, "user_id"))
    return web.Response(status=204)


async def unblock(request: web.Request) -> web.Response:
    await blocks.unblock(request.app, request[current_user], path_uuid(request, "user_id"))
    return web.Response(status=204)


_BLOCKS = "/chat/users/@me/blocks"
ENDPOINTS = [
    Endpoint("GET", _BLOCKS, list_blocks, "The users you have blocked, the latest first", "blocks",
             response=list[Block]),
    Endpoint("PUT", _BLOCKS + "/{user_id}", block,
             "Block a user: no new conversation between you, no messages into your 1:1 (again: nothing changes)",
             "blocks", status=204, errors=(400, 404)),
    Endpoint("DELETE", _BLOCKS + "/{user_id}", unblock, "Lift a block", "blocks", status=204, errors=(404,)),
]
