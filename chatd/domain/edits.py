"""Editing and deleting messages: the operations behind PATCH and DELETE .../messages/{id},
.../edits and .../messages/bulk-delete.

Each runs as a change (chatd.domain.changes): the channel's lock, then one statement of
sql/edits.sql that re-checks that the message is still there (permissions.require_* checked
before, without the lock), changes it, and sends its note. A deletion leaves no copy of the text.
"""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from chatd import keys
from chatd.domain.changes import channel_change, limit_change_rate
from chatd.domain.errors import NotFound
from chatd.domain.messages import clean_text
from chatd.domain.permissions import MESSAGE_NOT_FOUND
from chatd.domain.schemas import User


async def edit_message(app: Mapping, user: User, server_id: UUID, channel_id: UUID, message_id: UUID, text: str):
    """The message with its new text (a row like message_row's). The text it already has
    changes nothing: no edit is stored and no event sent."""
    text = clean_text(text)
    limit_change_rate(app, user, channel_id)
    async with channel_change(app, server_id, channel_id) as con:
        row = await app[keys.notes].emit(app[keys.queries].edit_message, con, channel_id=channel_id,
                                         message_id=message_id, text=text)
    if row is None:  # deleted since the permission check
        raise NotFound(MESSAGE_NOT_FOUND)
    return row


async def earlier_versions(app: Mapping, channel_id: UUID, message_id: UUID) -> list:
    rows = app[keys.queries].list_message_edits(app[keys.pool], channel_id=channel_id, message_id=message_id)
    return [row async for row in rows]


async def delete_message(app: Mapping, user: User, server_id: UUID, channel_id: UUID, message_id: UUID) -> None:
    if not await _delete(app, user, server_id, channel_id, [message_id], bulk=False):
        raise NotFound(MESSAGE_NOT_FOUND)  # deleted since the permission check


async def delete_messages(app: Mapping, user: User, server_id: UUID, channel_id: UUID, ids: list[UUID]) -> None:
    """Those of `ids` not deleted yet, in one transaction with one event (none if none were left)."""
    await _delete(app, user, server_id, channel_id, ids, bulk=True)


async def _delete(app: Mapping, user: User, server_id: UUID, channel_id: UUID, ids: list[UUID], bulk: bool) -> list:
    """The ids deleted now."""
    limit_change_rate(app, user, channel_id)
    async with channel_change(app, server_id, channel_id) as con:
        rows = app[keys.notes].emit(app[keys.queries].delete_messages, con, channel_id=channel_id, message_ids=ids,
                                    bulk=bulk)
        return [row["id"] async for row in rows]
