"""Changing a channel's content after the fact (edits, deletions, reactions): the batches
they are made in, and the rate they may run at.

Changes that arrive together share one transaction and one commit (ChangeCommit), as sends
do (chatd.store.groupcommit): lock_channels_for_changes, then one statement per kind of
change (sql/*.sql) that makes all of that kind at once: it checks what each changes, changes
it, and records those that changed something with record_changes (migration 0012): the
channels' next event_seqs, the notes kept in message_change and sent with pg_notify. Holding
the channels' locks first means each statement sees every change committed before, so two
concurrent changes cannot both pass a check, and no event_seq is taken without a change.
A batch of kinds whose statements take the locks themselves (edits: a function, migration
0035) needs no transaction around them: each statement runs alone, one round trip, its commit
included. (Mixed with other kinds, they run in the transaction, in the order they came.)
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg

from chatd import keys
from chatd.domain import permissions
from chatd.domain.errors import BadInput, NotFound
from chatd.domain.ratelimit import within_limit
from chatd.domain.schemas import User
from chatd.store.batching import Batcher
from chatd.store.pool import unavailable


@dataclass(frozen=True, eq=False)
class Change:
    kind: ChangeKind
    server_id: UUID | None  # None: a conversation
    channel_id: UUID
    values: Mapping[str, Any]


Numbered = list[tuple[int, Change]]


@dataclass(frozen=True, eq=False)
class ChangeKind:
    """A kind of change and the statement of sql/ that makes any number of them: it takes the
    changes as arrays (`arrays` of the changes numbered from 1, their `ords`), with
    `constants`, and answers rows, each with the `ord` of its change. Changes with the same
    `key` go to separate statements, in the order they came. `locks_itself`: the statement
    takes its channels' locks first thing (and leaves a pair whose channel is not that server's
    alone, as the lock would refuse it), so it needs no transaction around it."""

    statement: str
    arrays: Callable[[Numbered], dict[str, list]]
    key: Callable[[Change], Hashable] | None = None
    constants: Mapping[str, Any] = field(default_factory=dict)
    locks_itself: bool = False


def columns(*names: str) -> Callable[[Numbered], dict[str, list]]:
    """A change per element: `ords`, `channel_ids`, and each value in `names` as `<name>s`."""

    def arrays(numbered: Numbered) -> dict[str, list]:
        out = {"ords": [k for k, _ in numbered], "channel_ids": [c.channel_id for _, c in numbered]}
        out.update((f"{name}s", [c.values[name] for _, c in numbered]) for name in names)
        return out
    return arrays


class ChangeCommit:
    """Group commit for changes: those that arrive together are made in one transaction, by
    one statement per kind, and share one commit, as sends do (chatd.store.groupcommit).

    Each change's commit sends a NOTIFY, and PostgreSQL holds its one notification-queue lock
    across the commit's WAL flush: one commit per change ran every change of every channel one
    flush after the other (~250 edits/s on the bench's machine). A statement per change inside
    a shared transaction still cost each change its round trips and turns of an event loop
    busy with fan-out (~430 edits/s). A batch is now a fixed number of round trips: four
    (begin, lock, one statement, commit) in the common case of one kind of change, one for a
    batch of edits (whose statement locks for itself); savepoints only once a statement was
    refused.
    """

    def __init__(self, app: Mapping):
        self._app = app
        self._batcher: Batcher[Change, list] = Batcher(self._commit)

    async def make(self, change: Change) -> list[asyncpg.Record]:
        """The rows its statement answered for it, once its batch has committed."""
        return await self._batcher.submit(change)

    async def drain(self) -> None:
        await self._batcher.drain()

    async def _commit(self, batch: list[Change]) -> list[list | Exception]:
        started = time.perf_counter()
        try:
            results = await self._attempt(batch, isolated=False)
        except _Refused:
            # A statement was refused (a bug, not a change's refusal, which its rows say) and
            # nothing of the batch committed: again, each statement in a savepoint and each
            # change of a refused one alone, so that only what cannot be made fails.
            results = await self._attempt(batch, isolated=True)
        self._app[keys.metrics].change_batches.observe(len(batch), time.perf_counter() - started)
        return results

    async def _attempt(self, batch: list[Change], isolated: bool) -> list[list | Exception]:
        app = self._app
        results: list[list | Exception] = [[] for _ in batch]
        async with app[keys.pool].acquire() as con:
            if all(change.kind.locks_itself for change in batch):
                # Each statement alone, a transaction of its own (one round trip, its commit
                # included): one refused fails no other.
                await self._run(con, batch, list(range(len(batch))), results, isolated=True, savepoint=False)
                return results
            async with con.transaction():
                found = {(row["server_id"], row["id"]): row["type"] async for row in app[keys.queries].lock_channels_for_changes(
                    con, server_ids=[c.server_id for c in batch], channel_ids=[c.channel_id for c in batch])}
                ready = []
                for k, change in enumerate(batch):
                    channel_type = found.get((change.server_id, change.channel_id))
                    if channel_type is None:  # deleted since the permission check
                        results[k] = NotFound(permissions.CHANNEL_NOT_FOUND)
                    elif not permissions.takes_messages(channel_type):
                        results[k] = BadInput(permissions.VOICE_HAS_NO_MESSAGES)
                    else:
                        ready.append(k)
                await self._run(con, batch, ready, results, isolated, savepoint=True)
        return results

    async def _run(self, con, batch: list[Change], ready: list[int], results: list, isolated: bool,
                   savepoint: bool) -> None:
        for statement in _statements(batch, ready):
            changes = [batch[k] for k in statement]
            rows = await (self._isolated(con, changes, savepoint) if isolated else self._statement(con, changes))
            for k, answer in zip(statement, rows):
                results[k] = answer

    async def _statement(self, con, changes: list[Change]) -> list[list]:
        """Each change's rows, from their kind's statement."""
        kind = changes[0].kind
        try:
            rows = self._app[keys.notes].emit(getattr(self._app[keys.queries], kind.statement), con,
                                              **kind.arrays(list(enumerate(changes, 1))), **kind.constants)
            by_ord = defaultdict(list)
            async for row in rows:
                by_ord[row["ord"]].append(row)
        except asyncpg.PostgresError as error:
            if unavailable(error):  # the whole batch fails
                raise
            raise _Refused from error
        return [by_ord[k] for k in range(1, len(changes) + 1)]

    async def _isolated(self, con, changes: list[Change], savepoint: bool) -> list[list | Exception]:
        """The statement in a savepoint (or alone, outside any transaction), and a change at a
        time if it is refused."""
        try:
            if not savepoint:
                return await self._statement(con, changes)
            async with con.transaction():
                return await self._statement(con, changes)
        except _Refused as refused:
            if len(changes) == 1:
                return [refused.__cause__]
            return [(await self._isolated(con, [change], savepoint))[0] for change in changes]


class _Refused(Exception):
    """A statement was refused by the database (its cause): its transaction is aborted."""


def _statements(batch: list[Change], ready: list[int]) -> list[list[int]]:
    """The indexes of `ready` as statements, in rounds that hold at most one change of a key
    of a kind: round n of a kind starts with the change that is the nth of its key, so rounds
    follow the order the changes came in."""
    rounds: dict[tuple[ChangeKind, int], list[int]] = {}
    seen: dict[tuple[ChangeKind, Hashable], int] = defaultdict(int)
    for k in ready:
        kind, n = batch[k].kind, 0
        if kind.key is not None:
            key = (kind, kind.key(batch[k]))
            n = seen[key]
            seen[key] += 1
        rounds.setdefault((kind, n), []).append(k)
    return list(rounds.values())


async def make_change(app: Mapping, kind: ChangeKind, server_id: UUID | None, channel_id: UUID,
                      **values: Any) -> list[asyncpg.Record]:
    """Make a change of a channel that takes messages (server_id None: a conversation), with
    the others that arrive meanwhile: the rows its statement answered for it, once committed."""
    return await app[keys.change_commit].make(Change(kind, server_id, channel_id, values))


async def change_commit_ctx(app) -> AsyncIterator[None]:
    """cleanup_ctx (after the pool: used until the last batch has committed)."""
    writer = app[keys.change_commit] = ChangeCommit(app)
    yield
    await writer.drain()


def limit_change_rate(app: Mapping, user: User, channel_id: UUID) -> None:
    """Edits, deletions and reactions are limited like sends (CHATD_RATE_LIMIT), in a budget
    of their own, so reacting does not use up what a user may send."""
    within_limit(app[keys.change_limiter], (user.user_id, channel_id), "you are changing messages too fast")
