"""Reactions to a message: .../messages/{message_id}/reactions of a server's channel or of a conversation."""

from __future__ import annotations

from aiohttp import web

from chatd.domain import permissions, reactions
from chatd.domain.emojis import canonical_emoji
from chatd.domain.schemas import Reactor
from chatd.web.auth import current_user
from chatd.web.endpoints import PathParam, QueryParam, channel_endpoints
from chatd.web.encoding import json_response
from chatd.web.requests import channel_locator, path_uuid, query_int, query_uuid

MAX_REACTORS = 100


def _target(request: web.Request):
    """The message the path names: server (None in a conversation), channel and message ids."""
    return *channel_locator(request), path_uuid(request, "message_id")


def _emoji(request: web.Request) -> str:
    return canonical_emoji(request.match_info["emoji"])


async def add_my_reaction(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id, channel_id, message_id = _target(request)
    emoji = _emoji(request)
    await permissions.require_react(request.app, user, server_id, channel_id, message_id)
    await reactions.add_reaction(request.app, user, server_id, channel_id, message_id, emoji)
    return web.Response(status=204)


async def remove_my_reaction(request: web.Request) -> web.Response:
    return await _remove(request, request[current_user].user_id)


async def remove_reaction(request: web.Request) -> web.Response:
    return await _remove(request, path_uuid(request, "user_id"))


async def _remove(request: web.Request, target_id) -> web.Response:
    user = request[current_user]
    server_id, channel_id, message_id = _target(request)
    emoji = _emoji(request)
    await permissions.require_remove_reaction(request.app, user, server_id, channel_id, message_id, target_id)
    await reactions.remove_reaction(request.app, user, server_id, channel_id, message_id, emoji, target_id)
    return web.Response(status=204)


async def clear_reactions(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id, channel_id, message_id = _target(request)
    await permissions.require_remove_reaction(request.app, user, server_id, channel_id, message_id, None)
    await reactions.clear_reactions(request.app, user, server_id, channel_id, message_id)
    return web.Response(status=204)


async def list_reactors(request: web.Request) -> web.Response:
    """Who reacted with the emoji, by user id: `limit` of them after `after`."""
    user = request[current_user]
    server_id, channel_id, message_id = _target(request)
    emoji = _emoji(request)
    after = query_uuid(request, "after")
    limit = query_int(request, "limit", 25, minimum=1, maximum=MAX_REACTORS)
    await permissions.require_react(request.app, user, server_id, channel_id, message_id)
    return json_response(await reactions.list_reactors(request.app, channel_id, message_id, emoji, after, limit))


# Any segment, the empty one included, so that a missing emoji is a 400 that says so.
_EMOJI = (PathParam("emoji", {"type": "string", "examples": ["\U0001F44D", "\u2764\ufe0f"]},
                    "one Unicode emoji, URL-encoded; spellings that differ only in variation selectors "
                    "are the same emoji", pattern="[^/]*"),)
_REACTIONS = "/messages/{message_id}/reactions"
ENDPOINTS = [
    # Before the {user_id} route, which "@me" would match too.
    *channel_endpoints("PUT", _REACTIONS + "/{emoji}/@me", add_my_reaction,
                       "React to a message with an emoji (again: nothing changes)", "reactions",
                       status=204, errors=(400, 404, 409, 429), path_params=_EMOJI),
    *channel_endpoints("DELETE", _REACTIONS + "/{emoji}/@me", remove_my_reaction,
                       "Remove your reaction with an emoji (if there is none: nothing changes)", "reactions",
                       status=204, errors=(400, 404, 429), path_params=_EMOJI),
    *channel_endpoints("DELETE", _REACTIONS + "/{emoji}/{user_id}", remove_reaction,
                       "Remove a member's reaction with an emoji (MODERATOR and up; anyone their own)", "reactions",
                       status=204, errors=(400, 403, 404, 429), path_params=_EMOJI),
    *channel_endpoints("GET", _REACTIONS + "/{emoji}", list_reactors, "Who reacted with an emoji, by user id",
                       "reactions", response=list[Reactor], errors=(400, 404), path_params=_EMOJI, query=(
                           QueryParam("after", {"type": "string", "format": "uuid"},
                                      "only users with a larger id (the last of the previous page)"),
                           QueryParam("limit", {"type": "integer", "minimum": 1, "default": 25},
                                      f"page size; above {MAX_REACTORS} is clamped to {MAX_REACTORS}"),
                       )),
    *channel_endpoints("DELETE", _REACTIONS, clear_reactions, "Remove every reaction of a message (MODERATOR and up)",
                       "reactions", status=204, errors=(400, 403, 404, 429)),
]
