"""A channel's change stream over REST: .../changes of a server's channel or of a conversation,
for clients that poll, or catch up before opening a socket. The events are the gateway's."""

from __future__ import annotations

from datetime import timezone
from typing import Any

import msgspec
from aiohttp import web

from chatd import keys
from chatd.domain import permissions
from chatd.domain.errors import Gone
from chatd.gateway.outbound import replayed_event
from chatd.store.pool import fetch_rows
from chatd.web.auth import current_user
from chatd.web.encoding import json_response
from chatd.web.endpoints import QueryParam, channel_endpoints
from chatd.web.requests import MAX_BIGINT, channel_locator, query_int

MAX_CHANGES = 500


async def list_changes(request: web.Request) -> web.Response:
    """The first `limit` changes after `after_event_seq`, as the events a live socket got."""
    user = request[current_user]
    server_id, channel_id = channel_locator(request)
    after = query_int(request, "after_event_seq", 0, minimum=0, maximum=MAX_BIGINT)
    limit = query_int(request, "limit", 100, minimum=1, maximum=MAX_CHANGES)
    app = request.app
    await permissions.require_channel(app, user, server_id, channel_id)
    queries, pool = app[keys.queries], app[keys.pool]
    if after < await queries.get_change_horizon(pool, channel_id=channel_id):
        raise Gone(f"changes after event_seq {after} are no longer kept: reload the channel's history")
    rows = await fetch_rows(queries, pool, "list_changes_after", channel_ids=[channel_id], after_event_seqs=[after],
                            lim=limit)
    urls = app[keys.attachment_urls]
    return json_response([msgspec.Raw(replayed_event(row, timezone.utc, urls)) for row in rows])


ENDPOINTS = [
    *channel_endpoints("GET", "/changes", list_changes,
                       "The channel's changes after an eventSeq, oldest first: the gateway's events (new_message, "
                       "message_updated, message_deleted, messages_deleted, reaction_added, reaction_removed, "
                       "reactions_cleared), each with its eventSeq", "messages",
                       response=list[dict[str, Any]], errors=(400, 404, 410), query=(
                           QueryParam("after_event_seq", {"type": "integer", "minimum": 0, "default": 0},
                                      "the last eventSeq the client has; 410 when changes after it are past "
                                      "retention"),
                           QueryParam("limit", {"type": "integer", "minimum": 1, "default": 100},
                                      f"at most this many; above {MAX_CHANGES} is clamped to {MAX_CHANGES}"),
                       )),
]
