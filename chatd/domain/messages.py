"""Posting a message: the one operation behind REST's POST .../messages and the gateway's
send_message, so both validate, rate-limit, authorize, store and broadcast the same way."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from uuid import UUID

from chatd import keys
from chatd.domain import permissions
from chatd.domain.errors import BadInput, NotFound
from chatd.domain.inputs import stripped
from chatd.domain.mentions import candidates
from chatd.domain.ratelimit import within_limit
from chatd.store.groupcommit import Outgoing
from chatd.domain.schemas import MAX_TEXT, User


def clean_text(text: str, attachments: bool = False) -> str:
    """Surrounding whitespace is not part of a message; what remains must be 1-4000 chars (or
    none, with attachments)."""
    text = text.strip() if attachments else stripped(text, "text")
    if len(text) > MAX_TEXT:
        raise BadInput(f"text is longer than {MAX_TEXT} characters")
    return text


REPLY_ELSEWHERE = "reply_to is not a message of this channel"
NOT_ATTACHABLE = "attachment_ids must name your own uploads to this channel, not attached to a message yet"


async def post_message(
    app: Mapping, user: User, server_id: UUID | None, channel_id: UUID, text: str, nonce: str | None = None,
    reply_to: UUID | None = None, mention_reply: bool = True, attachment_ids: Sequence[UUID] = (),
):
    """Store a message and broadcast it (the INSERT's NOTIFY reaches every process on commit).

    The insert applies the send rule itself (permissions.check_send), so the check holds when
    the row is written; require_send is asked only to explain a refusal.

    Returns the stored row, with `created` false when `nonce` repeats one this user sent in
    the last 5 minutes: that earlier message is returned and nothing new is stored or sent.
    A reply names a message of the same channel, not deleted (the insert checks it too), and
    mentions its author unless `mention_reply` is false. The insert resolves the mentions.
    `attachment_ids` are the sender's own uploads to this channel, attached to nothing yet:
    the insert attaches them, or refuses the message if any is not.
    """
    if len(set(attachment_ids)) != len(attachment_ids):
        raise BadInput("attachment_ids names a file twice")
    text = clean_text(text, attachments=bool(attachment_ids))
    within_limit(app[keys.message_limiter], (user.user_id, channel_id), "you are sending messages too fast")
    outgoing = Outgoing(server_id, channel_id, user.user_id, user.username, text, nonce, reply_to,
                        candidates(text), mention_reply, tuple(attachment_ids))
    row = await app[keys.group_commit].store(outgoing)
    if row is None:  # refused by the statement: the permission check names the reason
        await permissions.require_send(app, user, server_id, channel_id)
        if reply_to is not None and not await app[keys.queries].live_message_in_channel(
                app[keys.pool], message_id=reply_to, channel_id=channel_id):
            raise BadInput(REPLY_ELSEWHERE)
        if attachment_ids and await app[keys.queries].count_attachable(
                app[keys.pool], uploader_id=user.user_id, channel_id=channel_id,
                ids=list(attachment_ids)) < len(attachment_ids):
            raise BadInput(NOT_ATTACHABLE)
        raise NotFound(permissions.CHANNEL_NOT_FOUND)  # allowed now, but gone at the insert
    if row["created"]:
        app[keys.pushes].queue(row)  # its Web Pushes, written to the outbox without the sender waiting
    return row
