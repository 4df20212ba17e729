"""Presence: the status a user sets (kept in user_presence) and whether they have a socket on any
chatd process (a chatd_node_user row per process that holds one), which together say what
others see: their status, or `offline`.

Each process writes its rows in batches (NodePresence), only when a user's first socket here
opens and the grace (CHATD_PRESENCE_GRACE) after their last one closed, so a connect costs no
round trip of its own and a reconnect within the grace, here or on another process, changes
nothing anyone sees. Every change goes through one statement (change_presences) that sends a
presence note for each user whose shown status changed, so each change is announced once,
whichever process made it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from uuid import UUID

from chatd import keys
from chatd.config import Config, RateLimit
from chatd.domain import permissions
from chatd.domain.ratelimit import within_limit
from chatd.domain.schemas import MemberPresence, User

log = logging.getLogger(__name__)

MAX_PAGE = 1000
PRESENCE_LIMIT = RateLimit(5, 20.0)  # status changes per user and process


def dead_seconds(config: Config) -> float:
    """How long a process's chatd_node row may go unrefreshed before its users' rows are taken
    for those of a dead process: two beats, and never before the grace has passed since it
    last beat (a reconnect within the grace shows no offline/online pair)."""
    interval = config.node_interval_seconds
    return max(2 * interval, interval + config.presence_grace.total_seconds())


class NodePresence:
    """This process's users: which have a socket here or are in the grace after their last one
    closed (`wanted`), which have their chatd_node_user row written (`_written`), and the
    writes that make the two agree, batched with the statuses set meanwhile and the rows of
    gone processes. One batch is written at a time; what arrives meanwhile goes in the next."""

    def __init__(self, app: Mapping, node_id: UUID):
        self._app = app
        self.node_id = node_id
        self._sockets: dict[UUID, int] = {}
        self._grace: dict[UUID, asyncio.TimerHandle] = {}
        self._written: set[UUID] = set()
        self._dirty: set[UUID] = set()  # users whose row may need writing or deleting
        self._statuses: list[tuple[UUID, str, asyncio.Future]] = []
        self._gone: list[tuple[UUID, UUID]] = []  # (node, user) rows of processes that are gone
        self._writer: asyncio.Task | None = None
        self._stopped = False

    # The gateway's calls: sockets opening and closing, without waiting.

    def opened(self, user_id: UUID) -> None:
        count = self._sockets.get(user_id, 0)
        self._sockets[user_id] = count + 1
        if count == 0:
            grace = self._grace.pop(user_id, None)
            if grace is not None:
                grace.cancel()  # back within the grace: the row never went
            else:
                self._touch(user_id)

    def closed(self, user_id: UUID) -> None:
        count = self._sockets.get(user_id, 0) - 1
        if count > 0:
            self._sockets[user_id] = count
            return
        self._sockets.pop(user_id, None)
        grace = self._app[keys.config].presence_grace.total_seconds()
        self._grace[user_id] = asyncio.get_running_loop().call_later(grace, self._grace_over, user_id)

    def _grace_over(self, user_id: UUID) -> None:
        self._grace.pop(user_id, None)
        self._touch(user_id)

    def wanted(self, user_id: UUID) -> bool:
        return user_id in self._sockets or user_id in self._grace

    # What the node beat calls.

    def rewrite(self) -> None:
        """The live processes may have taken this one for dead and deleted its rows: write
        them all again."""
        self._written.clear()
        for user_id in [*self._sockets, *self._grace]:
            self._touch(user_id)

    def retry(self) -> None:
        """Write what a failed batch left undone (the database was away)."""
        if self._dirty:
            self._start()

    def sweep(self, rows: list[tuple[UUID, UUID]]) -> None:
        """Delete the rows of gone processes (node id, user id); their users whose last row it
        was go offline."""
        self._gone.extend(row for row in rows if row[0] != self.node_id)
        self._start()

    async def set_status(self, user_id: UUID, status: str) -> None:
        future = asyncio.get_running_loop().create_future()
        self._statuses.append((user_id, status, future))
        self._start()
        await future

    def stop(self) -> None:
        """At shutdown: no more writes (the process's rows expire after the grace instead)."""
        self._stopped = True
        for grace in self._grace.values():
            grace.cancel()
        if self._writer is not None:
            self._writer.cancel()

    # The writing.

    def _touch(self, user_id: UUID) -> None:
        self._dirty.add(user_id)
        self._start()

    def _start(self) -> None:
        if self._writer is None and not self._stopped:
            self._writer = asyncio.get_running_loop().create_task(self._write_while_pending())

    async def _write_while_pending(self) -> None:
        try:
            while self._dirty or self._statuses or self._gone:
                dirty, self._dirty = self._dirty, set()
                ups = [u for u in dirty if u not in self._written and self.wanted(u)]
                downs = [u for u in dirty if u in self._written and not self.wanted(u)]
                # One status per user a batch: a second one waits for the next, so each is announced.
                statuses, later, named = [], [], set()
                for item in self._statuses:
                    (later if item[0] in named else statuses).append(item)
                    named.add(item[0])
                self._statuses = later
                gone, self._gone = self._gone, []
                try:
                    if ups or downs or statuses or gone:
                        await self._write(ups, downs, statuses, gone)
                except Exception as error:  # the database is away, say: the next beat retries the rows
                    self._dirty |= dirty
                    for _, _, future in statuses:
                        if not future.done():
                            future.set_exception(error)
                    if not self._app[keys.availability].noticed(error):
                        log.exception("event=presence_write_failed")
                    return
                self._written.update(ups)
                self._written.difference_update(downs)
                for _, _, future in statuses:
                    if not future.done():
                        future.set_result(None)
        finally:
            if self._writer is asyncio.current_task():
                self._writer = None

    async def _write(self, ups: list[UUID], downs: list[UUID], statuses: list, gone: list[tuple[UUID, UUID]]) -> None:
        app = self._app
        queries = app[keys.queries]
        users = {*ups, *downs, *(user_id for user_id, _, _ in statuses), *(user_id for _, user_id in gone)}
        async with app[keys.pool].acquire() as con, con.transaction():
            await queries.lock_presences(con, user_ids=sorted(users))
            await app[keys.notes].emit(
                queries.change_presences, con, node_id=self.node_id, up_ids=ups,
                gone_node_ids=[self.node_id] * len(downs) + [node_id for node_id, _ in gone],
                gone_user_ids=downs + [user_id for _, user_id in gone],
                status_user_ids=[user_id for user_id, _, _ in statuses], statuses=[s for _, s, _ in statuses],
                dead_seconds=dead_seconds(app[keys.config]))


async def presence_ctx(app) -> AsyncIterator[None]:
    """cleanup_ctx (after the note bus, before the gateway): this process's presence writer,
    under the node id its chatd_node row will carry."""
    presence = app[keys.presence] = NodePresence(app, uuid.uuid4())
    yield
    presence.stop()


async def set_status(app: Mapping, user: User, status: str) -> None:
    """Kept across reconnects and processes; announced if others see a change."""
    within_limit(app[keys.presence_limiter], user.user_id, "you are changing your status too fast")
    await app[keys.presence].set_status(user.user_id, status)


async def list_presences(app: Mapping, user: User, server_id: UUID, status: str | None, after: UUID | None,
                         limit: int) -> list[MemberPresence]:
    await permissions.require_member(app, user, server_id)
    rows = app[keys.queries].list_presences(app[keys.pool], server_id=server_id, status=status, after=after,
                                            lim=limit)
    return [MemberPresence(user_id=row["user_id"], username=row["username"], status=row["status"])
            async for row in rows]
