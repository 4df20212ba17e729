"""Editing and deleting messages: the operations behind PATCH and DELETE .../messages/{id},
.../edits and .../messages/bulk-delete.

Each is a change (chatd.domain.changes), made with the others that arrive meanwhile by one
statement of sql/edits.sql that checks, under the channel's lock, that the message is still
there, changes it, and sends its note (an edit's statement takes the lock itself: one round
trip). A deletion's rule is checked before, without the lock (permissions.require_delete); an
edit's by its statement alone, as a send's is, and explained by permissions.require_edit only
when it was refused: an edit costs no query of its own. A deletion leaves no copy of the text.
"""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from chatd.domain.attachments import files_deleted_after
from chatd import keys
from chatd.domain import permissions
from chatd.domain.changes import ChangeKind, Numbered, columns, limit_change_rate, make_change
from chatd.domain.errors import BadInput, NotFound
from chatd.domain.mentions import candidates, flattened
from chatd.domain.messages import clean_text
from chatd.domain.permissions import MESSAGE_NOT_FOUND
from chatd.domain.schemas import User


def _edit_arrays(numbered: Numbered) -> dict[str, list]:
    """An element per edit, and the mention candidates of each new text (chatd.domain.mentions)."""
    arrays = columns("message_id", "text", "user_id", "window")(numbered)
    arrays["server_ids"] = [change.server_id for _, change in numbered]
    return arrays | flattened([candidates(change.values["text"]) for _, change in numbered], arrays["ords"])


# Two edits of one message in one statement would both read the text before either.
EDIT = ChangeKind("edit_messages", _edit_arrays, key=lambda change: change.values["message_id"], locks_itself=True)


def _deletion_arrays(numbered: Numbered) -> dict[str, list]:
    """An element per (deletion, message it names)."""
    pairs = [(k, change, message_id) for k, change in numbered for message_id in change.values["message_ids"]]
    return {"ords": [k for k, _, _ in pairs], "channel_ids": [change.channel_id for _, change, _ in pairs],
            "message_ids": [message_id for _, _, message_id in pairs],
            "bulks": [change.values["bulk"] for _, change, _ in pairs]}


DELETION = ChangeKind("delete_messages", _deletion_arrays)


async def edit_message(app: Mapping, user: User, server_id: UUID | None, channel_id: UUID, message_id: UUID, text: str):
    """The message with its new text (a row like message_row's). The text it already has
    changes nothing: no edit is stored and no event sent."""
    text = clean_text(text)
    limit_change_rate(app, user, channel_id)
    try:
        rows = await make_change(app, EDIT, server_id, channel_id, message_id=message_id, text=text,
                                 user_id=user.user_id, window=app[keys.config].edit_window)
    except (NotFound, BadInput):  # no such TEXT channel in that server: also for non-members
        rows = []
    if not rows:
        await permissions.require_edit(app, user, server_id, channel_id, message_id)
        raise NotFound(MESSAGE_NOT_FOUND)  # allowed now: it was deleted, or its channel, meanwhile
    return rows[0]


async def earlier_versions(app: Mapping, channel_id: UUID, message_id: UUID) -> list:
    rows = app[keys.queries].list_message_edits(app[keys.pool], channel_id=channel_id, message_id=message_id)
    return [row async for row in rows]


async def delete_message(app: Mapping, user: User, server_id: UUID | None, channel_id: UUID, message_id: UUID) -> None:
    if not await _delete(app, user, server_id, channel_id, [message_id], bulk=False):
        raise NotFound(MESSAGE_NOT_FOUND)  # deleted since the permission check


async def delete_messages(app: Mapping, user: User, server_id: UUID | None, channel_id: UUID, ids: list[UUID]) -> None:
    """Those of `ids` not deleted yet, in one transaction with one event (none if none were left)."""
    await _delete(app, user, server_id, channel_id, ids, bulk=True)


async def _delete(app: Mapping, user: User, server_id: UUID | None, channel_id: UUID, ids: list[UUID],
                  bulk: bool) -> list:
    """The ids deleted now."""
    limit_change_rate(app, user, channel_id)
    rows = await make_change(app, DELETION, server_id, channel_id, message_ids=ids, bulk=bulk)
    if rows:
        await files_deleted_after(app)  # their files, which the deletion put in the trash
    return [row["id"] for row in rows]
