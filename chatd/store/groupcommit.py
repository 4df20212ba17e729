"""Group commit: messages sent at the same moment share one INSERT and one commit.

A send joins the batch that is forming (chatd.store.batching) and is answered only once that batch
has committed, so an acknowledged message is always durable. At low load a batch is one
message and waits for nothing; under load batches grow to what arrives during one commit,
where one commit per message would queue instead.

Sends with one nonce share a batch or see each other's commit within a process; across
processes, the nonce's claim in the statement decides which batch stores the message, and
the other answers with it (insert_message_batch in sql/messages.sql).

One batch commits at a time per process. Measured with the bench (1,000 clients, servers of
100, half the maximum rate): two or four concurrent batches were slower, p50 12-21 ms against
8-10 ms, as they split what would be one batch into several that lock the same channel rows
and wait on each other's commits.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from uuid import UUID

import asyncpg
from aiohttp import web

from chatd import keys
from chatd.domain.mentions import NONE, Candidates, flattened
from chatd.store.batching import Batcher
from chatd.store.pool import unavailable
if TYPE_CHECKING:
    from chatd.domain.notes import NoteBus
    from chatd.ops.metrics import Metrics


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message on its way to the database, as its sender's permission check will see it."""

    server_id: UUID | None  # None: a conversation
    channel_id: UUID
    user_id: UUID
    username: str
    text: str
    nonce: str | None
    reply_to_id: UUID | None = None
    mentions: Candidates = NONE  # the text's candidates (chatd.domain.mentions)
    mention_reply: bool = True  # a reply mentions the author it replies to
    attachment_ids: tuple[UUID, ...] = ()


class GroupCommit:
    def __init__(self, pool: asyncpg.Pool, queries, notes: NoteBus, metrics: Metrics | None = None):
        self._pool, self._queries, self._notes, self._metrics = pool, queries, notes, metrics
        self._batcher: Batcher[Outgoing, asyncpg.Record | None] = Batcher(self._commit)

    async def store(self, message: Outgoing) -> asyncpg.Record | None:
        """The stored row (or the earlier message its nonce repeats, `created` false) once its
        batch has committed; None when it was refused (see insert_message_batch)."""
        return await self._batcher.submit(message)

    async def drain(self) -> None:
        await self._batcher.drain()

    async def _commit(self, batch: list[Outgoing]) -> list[asyncpg.Record | None | Exception]:
        results = await self._store(batch)
        # An item with a nonce and no row was refused, or lost its nonce to another process's
        # batch that committed while this one ran (see insert_message_batch): a statement of
        # its own sees that message and answers with it.
        lost = [k for k, result in enumerate(results) if result is None and batch[k].nonce is not None]
        if lost:
            for k, result in zip(lost, await self._store([batch[k] for k in lost])):
                results[k] = result
        return results

    async def _store(self, batch: list[Outgoing]) -> list[asyncpg.Record | None | Exception]:
        started = time.perf_counter()
        try:
            rows = [row async for row in self._notes.emit(
                self._queries.insert_message_batch, self._pool,
                server_ids=[m.server_id for m in batch], channel_ids=[m.channel_id for m in batch],
                user_ids=[m.user_id for m in batch], usernames=[m.username for m in batch],
                texts=[m.text for m in batch], nonces=[m.nonce for m in batch],
                reply_to_ids=[m.reply_to_id for m in batch], mention_replies=[m.mention_reply for m in batch],
                **flattened([m.mentions for m in batch]),
                attach_ords=[k for k, m in enumerate(batch, 1) for _ in m.attachment_ids],
                attach_ids=[a for m in batch for a in m.attachment_ids],
            )]
        except asyncpg.PostgresError as error:
            # The statement was refused and nothing of it committed: retried one message at a
            # time, so a message that cannot be stored fails alone, not its neighbours. Not when
            # the database is unavailable: every message would fail alike, and a connection lost
            # at the commit may have stored the batch, which a retry would store again for the
            # messages without a nonce (a client resending with its nonce gets the stored one).
            if len(batch) == 1 or unavailable(error):
                return [error] * len(batch)
            return [(await self._store([message]))[0] for message in batch]
        if self._metrics is not None:
            self._metrics.message_batches.observe(len(batch), time.perf_counter() - started)
        by_ord = {row["ord"]: row for row in rows}
        return [by_ord.get(ord_) for ord_ in range(1, len(batch) + 1)]


async def group_commit_ctx(app: web.Application):
    """cleanup_ctx (after the pool and the note bus, used until the last batch has committed)."""
    writer = app[keys.group_commit] = GroupCommit(app[keys.pool], app[keys.queries], app[keys.notes],
                                                  app[keys.metrics])
    yield
    await writer.drain()
