"""Changing a channel's content after the fact (edits, deletions, reactions): the transaction
every such change runs in, and the rate it may run at.

A change is two statements in one transaction: lock_channel_for_change, then the change's own
statement (sql/*.sql), which checks what it changes, changes it, and only when it did takes
the channel's next event_seq (UPDATE chatchannel SET last_event_seq = last_event_seq + 1),
records the note in message_change and sends it (pg_notify) with the same JSON. Holding the
channel's lock first means that statement sees every earlier change, so two concurrent
changes cannot both pass a check, and no event_seq is taken without a change behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from uuid import UUID

from chatd import keys
from chatd.domain import permissions
from chatd.domain.errors import BadInput, NotFound, RateLimited
from chatd.domain.schemas import User


class ChannelTurns:
    """A process's changes of one channel take turns here, before taking a pool connection.

    Waiting for the channel's row lock in the database holds a connection: a burst of changes
    to one channel took the whole pool while the changes of other channels waited for a
    connection, so every change in the process ran one after the other (edits at 430/s over
    four channels ran at ~230/s, p99 1.5 s). Here at most one connection per channel and
    process waits for that lock.
    """

    def __init__(self) -> None:
        self._turns: dict[UUID, list] = {}  # channel -> [its lock, how many hold or wait for it]

    @contextlib.asynccontextmanager
    async def turn(self, channel_id: UUID) -> AsyncIterator[None]:
        turn = self._turns.get(channel_id)
        if turn is None:
            turn = self._turns[channel_id] = [asyncio.Lock(), 0]
        turn[1] += 1
        try:
            async with turn[0]:
                yield
        finally:
            turn[1] -= 1
            if not turn[1]:
                del self._turns[channel_id]


@contextlib.asynccontextmanager
async def channel_change(app: Mapping, server_id: UUID, channel_id: UUID) -> AsyncIterator:
    """A connection in a transaction holding the TEXT channel's lock, for the change's statement."""
    async with app[keys.change_turns].turn(channel_id), app[keys.pool].acquire() as con, con.transaction():
        channel_type = await app[keys.queries].lock_channel_for_change(con, server_id=server_id, channel_id=channel_id)
        if channel_type is None:  # deleted since the permission check
            raise NotFound(permissions.CHANNEL_NOT_FOUND)
        if channel_type != "TEXT":
            raise BadInput(permissions.VOICE_HAS_NO_MESSAGES)
        yield con


def limit_change_rate(app: Mapping, user: User, channel_id: UUID) -> None:
    """Edits, deletions and reactions are limited like sends (CHATD_RATE_LIMIT), in a budget
    of their own, so reacting does not use up what a user may send."""
    limiter = app[keys.change_limiter]
    if limiter is not None:
        wait = limiter.acquire((user.user_id, channel_id))
        if wait:
            raise RateLimited("you are changing messages too fast", retry_after=wait)
