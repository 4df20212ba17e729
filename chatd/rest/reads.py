"""Read state: .../ack and .../read-state of a channel, and GET /chat/unreads. The
read_state_updated event goes out from the statement."""

from __future__ import annotations

from aiohttp import web

from chatd.domain import reads
from chatd.domain.schemas import Ack, ReadState, ReadStateChange
from chatd.web.auth import current_token, current_user
from chatd.web.encoding import json_response
from chatd.web.endpoints import Endpoint, channel_endpoints
from chatd.web.requests import channel_locator, json_body


async def ack(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id, channel_id = channel_locator(request)
    body = await json_body(request, Ack)
    return json_response(await reads.set_read_state(request.app, user, server_id, channel_id, body.seq, forward=True))


async def set_read_state(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id, channel_id = channel_locator(request)
    body = await json_body(request, ReadStateChange)
    return json_response(await reads.set_read_state(request.app, user, server_id, channel_id, body.last_read_seq,
                                                    forward=False))


async def list_unreads(request: web.Request) -> web.Response:
    return json_response(await reads.list_unreads(request.app, request[current_token].user_id))


ENDPOINTS = [
    *channel_endpoints("POST", "/ack", ack,
                       "Mark the channel read up to a message: the read pointer moves forward only", "read state",
                       body=Ack, response=ReadState, errors=(400, 404)),
    *channel_endpoints("PUT", "/read-state", set_read_state,
                       "Set the read pointer anywhere (\"mark unread\" moves it back)", "read state",
                       body=ReadStateChange, response=ReadState, errors=(400, 404)),
    Endpoint("GET", "/chat/unreads", list_unreads,
             "Every channel and conversation the caller reads, with its read pointer and unread and mention counts",
             "read state", response=list[ReadState], early=True),
]
