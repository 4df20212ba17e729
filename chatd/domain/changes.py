"""Changing a channel's content after the fact (edits, deletions, reactions): the transaction
every such change runs in, and the rate it may run at.

A change is two statements in one transaction (shared with the changes that arrived with it:
ChangeCommit): lock_channel_for_change, then the change's own statement (sql/*.sql), which
checks what it changes, changes it, and only when it did calls
`record_change(:notify_channel, channel, message, note)` (migration 0010): the channel's next
event_seq, the note kept in message_change and sent with pg_notify, the same JSON. Holding the
channel's lock first means that statement sees every earlier change, so two concurrent
changes cannot both pass a check, and no event_seq is taken without a change behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from uuid import UUID

from chatd import keys
from chatd.domain import permissions
from chatd.domain.errors import BadInput, NotFound
from chatd.domain.ratelimit import within_limit
from chatd.domain.schemas import User
from chatd.store.batching import Batcher


@dataclass(eq=False)
class _Change:
    server_id: UUID
    channel_id: UUID
    # Set by the batch when this change's statement may run: the connection, in a savepoint of
    # the batch's transaction that holds the channel's lock (or the refusal of the lock check).
    turn: asyncio.Future
    # Set by the change when its statement is done: None, or what it raised.
    done: asyncio.Future


class ChangeCommit:
    """Group commit for changes: those that arrive together run in one transaction, one after
    the other, and share one commit, as sends do (chatd.store.groupcommit).

    Each change's commit sends a NOTIFY, and PostgreSQL holds its one notification-queue lock
    across the commit's WAL flush: one commit per change ran every change of every channel one
    flush after the other (~250 edits/s on the bench's machine over ten channels, however they
    were spread, p99 of seconds at half the rate sends reach). A batch takes that lock once.
    Within a batch changes run in channel id order, each in a savepoint (its failure is its
    own) after the channel's lock; one batch commits at a time per process. What is left:
    each change is still a few round trips of its own inside the batch (savepoint, lock,
    statement, release, and the hand-over to its caller and back), each a turn of an event
    loop busy with fan-out, ~4.5 ms a change in the bench's edit trials (~430 edits/s).
    """

    def __init__(self, app: Mapping):
        self._app = app
        self._batcher: Batcher[_Change, None] = Batcher(self._commit)

    @contextlib.asynccontextmanager
    async def change(self, server_id: UUID, channel_id: UUID) -> AsyncIterator:
        loop = asyncio.get_running_loop()
        change = _Change(server_id, channel_id, loop.create_future(), loop.create_future())
        committed = asyncio.ensure_future(self._batcher.submit(change))
        committed.add_done_callback(_retrieved)  # a change that failed first learns of it from its body
        try:
            await asyncio.wait({change.turn, committed}, return_when=asyncio.FIRST_COMPLETED)
            if not change.turn.done():  # the batch failed before this change's turn
                await committed
            yield change.turn.result()  # or the lock check's refusal
        except BaseException as error:  # also a caller cancelled: the batch must not wait for it
            if not change.done.done():
                change.done.set_result(error)
            raise
        change.done.set_result(None)
        await committed

    async def drain(self) -> None:
        await self._batcher.drain()

    async def _commit(self, batch: list[_Change]) -> list[None | Exception]:
        app = self._app
        results: list[None | Exception] = [None] * len(batch)
        async with app[keys.pool].acquire() as con, con.transaction():
            for k in sorted(range(len(batch)), key=lambda k: batch[k].channel_id):
                change = batch[k]
                try:
                    async with con.transaction():  # a savepoint
                        await _lock_channel(app, con, change.server_id, change.channel_id)
                        change.turn.set_result(con)
                        failed = await change.done
                        if failed is not None:
                            raise _Failed from failed
                except Exception as error:
                    results[k] = error
                    if not change.turn.done():
                        change.turn.set_exception(error)
        return results


class _Failed(Exception):
    """A change's statement raised (its caller has the error): its savepoint is rolled back."""


def _retrieved(future: asyncio.Future) -> None:
    if not future.cancelled():
        future.exception()


async def _lock_channel(app: Mapping, con, server_id: UUID, channel_id: UUID) -> None:
    channel_type = await app[keys.queries].lock_channel_for_change(con, server_id=server_id, channel_id=channel_id)
    if channel_type is None:  # deleted since the permission check
        raise NotFound(permissions.CHANNEL_NOT_FOUND)
    if channel_type != "TEXT":
        raise BadInput(permissions.VOICE_HAS_NO_MESSAGES)


def channel_change(app: Mapping, server_id: UUID, channel_id: UUID):
    """A connection in a transaction holding the TEXT channel's lock, for the change's
    statement; the context ends once the change committed (with the others of its batch)."""
    return app[keys.change_commit].change(server_id, channel_id)


async def change_commit_ctx(app) -> AsyncIterator[None]:
    """cleanup_ctx (after the pool: used until the last batch has committed)."""
    writer = app[keys.change_commit] = ChangeCommit(app)
    yield
    await writer.drain()


def limit_change_rate(app: Mapping, user: User, channel_id: UUID) -> None:
    """Edits, deletions and reactions are limited like sends (CHATD_RATE_LIMIT), in a budget
    of their own, so reacting does not use up what a user may send."""
    within_limit(app[keys.change_limiter], (user.user_id, channel_id), "you are changing messages too fast")
