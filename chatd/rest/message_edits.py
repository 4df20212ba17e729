"""Editing and deleting messages: PATCH and DELETE .../messages/{message_id}, its earlier
versions (.../edits), and .../messages/bulk-delete. The events go out from the statements."""

from __future__ import annotations

from aiohttp import web

from chatd import keys
from chatd.domain import edits, permissions
from chatd.domain.reactions import reaction_summary
from chatd.domain.schemas import BulkDeletion, EarlierVersion, Message, MessageEdit
from chatd.domain.views import message_view
from chatd.web.auth import current_user
from chatd.web.encoding import json_response
from chatd.web.endpoints import channel_endpoints
from chatd.web.requests import channel_locator, json_body, path_uuid


def _path_ids(request: web.Request):
    return *channel_locator(request), path_uuid(request, "message_id")


async def edit_message(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id, channel_id, message_id = _path_ids(request)
    body = await json_body(request, MessageEdit)
    row = await edits.edit_message(request.app, user, server_id, channel_id, message_id, body.text)
    return json_response(message_view(row, row["username"], reaction_summary(row["reactions"]),
                                      request.app[keys.attachment_urls]))


async def list_edits(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id, channel_id, message_id = _path_ids(request)
    await permissions.require_read_edits(request.app, user, server_id, channel_id, message_id)
    rows = await edits.earlier_versions(request.app, channel_id, message_id)
    return json_response([EarlierVersion(row["text"], row["written_at"], row["replaced_at"]) for row in rows])


async def delete_message(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id, channel_id, message_id = _path_ids(request)
    await permissions.require_delete(request.app, user, server_id, channel_id, message_id)
    await edits.delete_message(request.app, user, server_id, channel_id, message_id)
    return web.Response(status=204)


async def bulk_delete(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id, channel_id = channel_locator(request)
    body = await json_body(request, BulkDeletion)
    await permissions.require_bulk_delete(request.app, user, server_id, channel_id, body.ids)
    await edits.delete_messages(request.app, user, server_id, channel_id, body.ids)
    return web.Response(status=204)


ENDPOINTS = [
    *channel_endpoints("PATCH", "/messages/{message_id}", edit_message,
                       "Edit your message's text (within CHATD_EDIT_WINDOW of sending); the same text changes nothing",
                       "messages", body=MessageEdit, response=Message, errors=(400, 403, 404, 429)),
    *channel_endpoints("DELETE", "/messages/{message_id}", delete_message,
                       "Delete a message (yours, or anyone's as MODERATOR or ADMIN): its text and earlier versions "
                       "are erased", "messages", status=204, errors=(400, 403, 404, 429)),
    *channel_endpoints("GET", "/messages/{message_id}/edits", list_edits,
                       "A message's earlier versions, oldest first (its author, MODERATORs and ADMINs)", "messages",
                       response=list[EarlierVersion], errors=(400, 403, 404)),
    *channel_endpoints("POST", "/messages/bulk-delete", bulk_delete,
                       "Delete 1-100 messages of the channel at once (MODERATOR or ADMIN); deleted ones are skipped",
                       "messages", body=BulkDeletion, status=204, errors=(400, 403, 404, 429)),
]
