"""Posting a message: the one operation behind REST's POST .../messages and the gateway's
send_message, so both validate, authorize and store the same way."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from chatd import keys, permissions
from chatd.errors import ApiError
from chatd.schemas import MAX_TEXT, Message, User
from chatd.views import message_view


def clean_text(text: str) -> str:
    """Surrounding whitespace is not part of a message; what remains must be 1-4000 chars."""
    text = text.strip()
    if not text:
        raise ApiError(400, "text must not be blank")
    if len(text) > MAX_TEXT:
        raise ApiError(400, f"text is longer than {MAX_TEXT} characters")
    return text


async def post_message(app: Mapping, user: User, server_id: UUID, channel_id: UUID, text: str) -> Message:
    text = clean_text(text)
    await permissions.require_send(app, user, server_id, channel_id)
    row = await app[keys.queries].insert_message(
        app[keys.pool], server_id=server_id, channel_id=channel_id, user_id=user.user_id, text=text
    )
    return message_view(row, user.username)
