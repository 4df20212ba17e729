"""Message search: GET /chat/search."""

from __future__ import annotations

from aiohttp import web

from chatd.domain.schemas import SearchPage
from chatd.domain.search import HAS, MAX_QUERY, MAX_RESULTS, SORTS, Search, parse_time, search_messages
from chatd.web.auth import current_user
from chatd.web.encoding import json_response
from chatd.web.endpoints import Endpoint, QueryParam
from chatd.web.requests import query_int, query_uuid

UUID_SCHEMA = {"type": "string", "format": "uuid"}
TIME_SCHEMA = {"type": "string", "format": "date-time"}


async def search(request: web.Request) -> web.Response:
    query = request.query
    page = await search_messages(request.app, request[current_user], Search(
        q=query.get("q", ""), server_id=query_uuid(request, "server_id"), channel_id=query_uuid(request, "channel_id"),
        dm_id=query_uuid(request, "dm_id"), author_id=query_uuid(request, "author_id"), has=query.get("has") or None,
        after=parse_time(query.get("after"), "after"), before=parse_time(query.get("before"), "before"),
        sort=query.get("sort") or "recent", limit=query_int(request, "limit", 25, minimum=1, maximum=MAX_RESULTS),
        cursor=query.get("cursor")))
    return json_response(page)


ENDPOINTS = [
    Endpoint("GET", "/chat/search", search,
             "Messages the caller can read that match `q`, newest first (or best first), each with a snippet",
             "messages", response=SearchPage, errors=(400, 404), query=(
                 QueryParam("q", {"type": "string", "minLength": 1, "maxLength": MAX_QUERY},
                            'web-search syntax: words, "quoted phrases", OR, -excluded'),
                 QueryParam("server_id", UUID_SCHEMA, "only this server's channels"),
                 QueryParam("channel_id", UUID_SCHEMA, "only this channel"),
                 QueryParam("dm_id", UUID_SCHEMA, "only this conversation"),
                 QueryParam("author_id", UUID_SCHEMA, "only messages this user sent"),
                 QueryParam("has", {"type": "string", "enum": list(HAS)}, "only messages with a link, a file, or a mention (of someone, or @everyone)"),
                 QueryParam("after", TIME_SCHEMA, "only messages sent after this time (ISO 8601)"),
                 QueryParam("before", TIME_SCHEMA, "only messages sent before this time (ISO 8601)"),
                 QueryParam("sort", {"type": "string", "enum": list(SORTS), "default": "recent"},
                            "recent: newest first; relevance: best match first"),
                 QueryParam("limit", {"type": "integer", "minimum": 1, "default": 25},
                            f"at most this many; above {MAX_RESULTS} is clamped to {MAX_RESULTS}"),
                 QueryParam("cursor", {"type": "string"}, "the next_cursor of the page before"),
             )),
]
