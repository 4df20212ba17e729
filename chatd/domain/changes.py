"""Changing a channel's content after the fact (edits, deletions, reactions): the transaction
every such change runs in, and the rate it may run at.

A change is two statements in one transaction: lock_channel_for_change, then the change's own
statement (sql/*.sql), which checks what it changes, changes it, and only when it did calls
`record_change(:notify_channel, channel, message, note)` (migration 0010): the channel's next
event_seq, the note kept in message_change and sent with pg_notify, the same JSON. Holding the
channel's lock first means that statement sees every earlier change, so two concurrent
changes cannot both pass a check, and no event_seq is taken without a change behind it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from uuid import UUID

from chatd import keys
from chatd.domain import permissions
from chatd.domain.errors import BadInput, NotFound
from chatd.domain.ratelimit import within_limit
from chatd.domain.schemas import User


@contextlib.asynccontextmanager
async def channel_change(app: Mapping, server_id: UUID, channel_id: UUID) -> AsyncIterator:
    """A connection in a transaction holding the TEXT channel's lock, for the change's statement."""
    async with app[keys.pool].acquire() as con, con.transaction():
        channel_type = await app[keys.queries].lock_channel_for_change(con, server_id=server_id, channel_id=channel_id)
        if channel_type is None:  # deleted since the permission check
            raise NotFound(permissions.CHANNEL_NOT_FOUND)
        if channel_type != "TEXT":
            raise BadInput(permissions.VOICE_HAS_NO_MESSAGES)
        yield con


def limit_change_rate(app: Mapping, user: User, channel_id: UUID) -> None:
    """Edits, deletions and reactions are limited like sends (CHATD_RATE_LIMIT), in a budget
    of their own, so reacting does not use up what a user may send."""
    within_limit(app[keys.change_limiter], (user.user_id, channel_id), "you are changing messages too fast")
