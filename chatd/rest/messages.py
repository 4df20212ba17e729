"""Message history and posting: .../messages of a server's channel or of a conversation."""

from __future__ import annotations

from aiohttp import web

from chatd import keys
from chatd.domain import permissions
from chatd.domain.errors import BadInput
from chatd.web.auth import current_user
from chatd.web.encoding import json_response
from chatd.web.endpoints import QueryParam, channel_endpoints
from chatd.domain.messages import post_message
from chatd.domain.reactions import reaction_summary
from chatd.web.requests import MAX_BIGINT, channel_locator, json_body, query_int, query_uuid
from chatd.domain.schemas import Message, NewMessage
from chatd.domain.views import message_view

MAX_PAGE = 100
EVENT_SEQ_HEADER = "Chatd-Event-Seq"


async def list_messages(request: web.Request) -> web.Response:
    """The newest `limit` messages after skipping `offset` (or older than `before`), oldest first,
    each with its reactions; the `Chatd-Event-Seq` header says which point of the channel's
    change stream the page shows (a client resumes from it)."""
    user = request[current_user]
    server_id, channel_id = channel_locator(request)
    limit = query_int(request, "limit", 50, minimum=1, maximum=MAX_PAGE)
    offset = query_int(request, "offset", 0, minimum=0, maximum=MAX_BIGINT)
    before = query_uuid(request, "before")
    after_seq = query_int(request, "after_seq", -1, minimum=0, maximum=MAX_BIGINT)
    app = request.app
    await permissions.require_channel(app, user, server_id, channel_id)
    queries, pool = app[keys.queries], app[keys.pool]
    viewer = user.user_id
    if after_seq >= 0:
        rows = queries.list_messages_after_seq(pool, channel_id=channel_id, after_seq=after_seq, lim=limit,
                                               user_id=viewer)
    elif before is None:
        rows = queries.list_messages_page(pool, channel_id=channel_id, lim=limit, skip=offset, user_id=viewer)
    else:
        if not await queries.message_exists_in_channel(pool, message_id=before, channel_id=channel_id):
            raise BadInput("before is not a message of this channel")
        rows = queries.list_messages_before(pool, channel_id=channel_id, before_id=before, lim=limit, skip=offset,
                                            user_id=viewer)
    page = [row async for row in rows]
    # An empty page shows the stream where it is now (nothing of it is on the page).
    event_seq = page[0]["channel_event_seq"] if page else await queries.get_channel_event_seq(
        pool, channel_id=channel_id)
    urls = app[keys.attachment_urls]
    response = json_response([message_view(row, row["username"], reaction_summary(row["reactions"]), urls)
                              for row in page])
    response.headers[EVENT_SEQ_HEADER] = str(event_seq)
    return response


async def create_message(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id, channel_id = channel_locator(request)
    body = await json_body(request, NewMessage)
    row = await post_message(request.app, user, server_id, channel_id, body.text, body.nonce, body.reply_to,
                             body.mention_reply, body.attachment_ids)
    if row["created"]:
        request.app[keys.metrics].messages_rest.inc()
    # The answer to a send, like its new_message event, carries no reactions: they come as events.
    return json_response(message_view(row, user.username, [], request.app[keys.attachment_urls]), status=201)


ENDPOINTS = [
    *channel_endpoints("GET", "/messages", list_messages, "A page of the channel's history, oldest first", "messages",
                       response=list[Message], errors=(400, 404), query=(
                           QueryParam("limit", {"type": "integer", "minimum": 1, "default": 50},
                                      f"page size; above {MAX_PAGE} is clamped to {MAX_PAGE}"),
                           QueryParam("offset", {"type": "integer", "minimum": 0, "default": 0},
                                      "how many of the newest messages to skip"),
                           QueryParam("before", {"type": "string", "format": "uuid"},
                                      "only messages older than this one (keyset paging: fast at any depth)"),
                           QueryParam("after_seq", {"type": "integer", "minimum": 0},
                                      "instead: the oldest `limit` messages with a larger seq (catching up)"),
                       )),
    *channel_endpoints("POST", "/messages", create_message,
                       "Send a message (TEXT channels); a repeated nonce returns the earlier one", "messages",
                       body=NewMessage, response=Message, status=201, errors=(400, 404, 429), dm_errors=(403,)),
]
