"""Threads: starting one on a message, /chat/threads/{thread_id}, its followers, and a channel's
threads. Everything else a thread has is at the channel routes, with the thread's id as the
channel id (its server's id as the server id)."""

from __future__ import annotations

from aiohttp import web

from chatd.domain import threads
from chatd.domain.schemas import FollowedThread, NewThread, Thread, ThreadChange
from chatd.domain.search import parse_time
from chatd.domain.errors import BadInput
from chatd.web.auth import current_user
from chatd.web.encoding import json_response
from chatd.web.endpoints import Endpoint, QueryParam
from chatd.web.requests import json_body, path_uuid, query_int

MAX_THREADS = 100


async def start_thread(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id, channel_id = path_uuid(request, "server_id"), path_uuid(request, "channel_id")
    message_id = path_uuid(request, "message_id")
    body = await json_body(request, NewThread)
    thread = await threads.start_thread(request.app, user, server_id, channel_id, message_id, body)
    return json_response(thread, status=201)


async def list_threads(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id, channel_id = path_uuid(request, "server_id"), path_uuid(request, "channel_id")
    archived = request.query.get("archived", "false")
    if archived not in ("true", "false"):
        raise BadInput("archived must be true or false")
    page = await threads.list_threads(request.app, user, server_id, channel_id, archived == "true",
                                      parse_time(request.query.get("before"), "before"),
                                      query_int(request, "limit", 25, minimum=1, maximum=MAX_THREADS))
    return json_response(page)


async def get_thread(request: web.Request) -> web.Response:
    return json_response(await threads.get_thread(request.app, request[current_user],
                                                  path_uuid(request, "thread_id")))


async def change_thread(request: web.Request) -> web.Response:
    user = request[current_user]
    thread_id = path_uuid(request, "thread_id")
    body = await json_body(request, ThreadChange)
    return json_response(await threads.change_thread(request.app, user, thread_id, body))


async def delete_thread(request: web.Request) -> web.Response:
    await threads.delete_thread(request.app, request[current_user], path_uuid(request, "thread_id"))
    return web.Response(status=204)


async def follow(request: web.Request) -> web.Response:
    await threads.follow(request.app, request[current_user], path_uuid(request, "thread_id"),
                         following=request.method == "PUT")
    return web.Response(status=204)


_CHANNEL = "/chat/servers/{server_id}/channels/{channel_id}"
_THREAD = "/chat/threads/{thread_id}"
ENDPOINTS = [
    Endpoint("POST", _CHANNEL + "/messages/{message_id}/threads", start_thread,
             "Start a thread on a message (anyone who may send in the channel); one per message", "threads",
             body=NewThread, response=FollowedThread, status=201, errors=(400, 404, 409)),
    Endpoint("GET", _CHANNEL + "/threads", list_threads, "The channel's threads, the latest active first", "threads",
             response=list[Thread], errors=(400, 404), query=(
                 QueryParam("archived", {"type": "string", "enum": ["false", "true"], "default": "false"},
                            "the archived threads instead of the open ones"),
                 QueryParam("limit", {"type": "integer", "minimum": 1, "default": 25},
                            f"page size; above {MAX_THREADS} is clamped to {MAX_THREADS}"),
                 QueryParam("before", {"type": "string", "format": "date-time"},
                            "only threads last active before this time (the last one's last_message_at)"),
             )),
    Endpoint("GET", _THREAD, get_thread, "One thread (a member of its server)", "threads",
             response=FollowedThread, errors=(404,)),
    Endpoint("PATCH", _THREAD, change_thread,
             "Rename or archive (its creator, MODERATOR, ADMIN), lock (MODERATOR, ADMIN) a thread", "threads",
             body=ThreadChange, response=FollowedThread, errors=(400, 403, 404)),
    Endpoint("DELETE", _THREAD, delete_thread, "Delete a thread and its messages (its creator, MODERATOR, ADMIN)",
             "threads", status=204, errors=(403, 404)),
    Endpoint("PUT", _THREAD + "/followers/@me", follow,
             "Follow a thread: its unread and mention counts are yours from now (again: nothing changes)", "threads",
             status=204, errors=(404,)),
    Endpoint("DELETE", _THREAD + "/followers/@me", follow, "Stop following a thread", "threads",
             status=204, errors=(404,)),
]
