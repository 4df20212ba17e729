"""Mentions and notification settings: GET /chat/mentions and
/chat/users/@me/notification-settings. The notification events themselves go out from the
gateway (chatd.gateway.notifier)."""

from __future__ import annotations

from aiohttp import web

from chatd import keys
from chatd.domain import notifications, permissions
from chatd.domain.reactions import reaction_summary
from chatd.domain.schemas import Message, NotificationSetting, NotificationSettingChange
from chatd.domain.views import message_view
from chatd.web.auth import current_user
from chatd.web.encoding import json_response
from chatd.web.endpoints import Endpoint, PathParam, QueryParam
from chatd.web.requests import json_body, path_uuid, query_int, query_uuid

MAX_PAGE = 100


async def list_mentions(request: web.Request) -> web.Response:
    limit = query_int(request, "limit", 50, minimum=1, maximum=MAX_PAGE)
    rows = await notifications.list_mentions(request.app, request[current_user], query_uuid(request, "before"), limit)
    urls = request.app[keys.attachment_urls]
    return json_response([message_view(row, row["username"], reaction_summary(row["reactions"]), urls)
                          for row in rows])


async def set_setting(request: web.Request) -> web.Response:
    scope = request.match_info["scope"]
    permissions.check_notification_scope(scope)
    target_id = path_uuid(request, "id")
    body = await json_body(request, NotificationSettingChange)
    return json_response(await notifications.set_setting(request.app, request[current_user], scope, target_id, body))


async def list_settings(request: web.Request) -> web.Response:
    return json_response(await notifications.list_settings(request.app, request[current_user]))


_SETTINGS = "/chat/users/@me/notification-settings"
_SCOPE = (PathParam("scope", {"type": "string", "enum": ["server", "channel", "dm"]},
                    "what `id` names: a server, a server's channel, a conversation", "[^/]+"),)
ENDPOINTS = [
    Endpoint("GET", "/chat/mentions", list_mentions,
             "The messages that mention you (directly, by @everyone or @here, or replying to yours), newest first, "
             "in the servers and conversations you read", "notifications", response=list[Message], errors=(400,),
             query=(QueryParam("before", {"type": "string", "format": "uuid"},
                               "only mentions older than this message (keyset paging)"),
                    QueryParam("limit", {"type": "integer", "minimum": 1, "default": 50},
                               f"page size; above {MAX_PAGE} is clamped to {MAX_PAGE}"))),
    Endpoint("GET", _SETTINGS, list_settings, "Your notification settings (what has none keeps the defaults)",
             "notifications", response=list[NotificationSetting]),
    Endpoint("PUT", _SETTINGS + "/{scope}/{id}", set_setting,
             "Set what you hear of a server, a channel or a conversation, and mute it until a time", "notifications",
             body=NotificationSettingChange, response=NotificationSetting, errors=(400, 404), path_params=_SCOPE),
]
