"""Hold a dedicated LISTEN connection and hand every note to the hub, in commit order.

When the connection drops (PostgreSQL restart, terminated backend), chatd reports not-ready,
reconnects with backoff, and then reads what was committed meanwhile from the database, so
connected clients miss nothing; the hub's per-channel seq drops anything sent twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from datetime import datetime, timedelta

import asyncpg
import msgspec

from chatd import keys
from chatd.store.pool import DB_ERRORS
from chatd.domain.notes import (
    ChannelCreatedNote, MemberAddedNote, MemberRemovedNote, MessageNote, NOTIFY_CHANNEL, Note,
    ServerDeletedNote, TypingNote, decode_note, message_note,
)

log = logging.getLogger(__name__)

PING_SECONDS = 5.0
MAX_BACKOFF = 10.0
# A message's created_at is taken at insert; its commit (and NOTIFY) may come a little later.
CATCH_UP_MARGIN = timedelta(seconds=30)


class CatchUp(msgspec.Struct):
    since: datetime


class Listener:
    def __init__(self, app: Mapping):
        self._app = app
        self._queue: asyncio.Queue[str | CatchUp] = asyncio.Queue()
        self.ready = False
        self.first_ready = asyncio.Event()

    async def run(self) -> None:
        """Hold a LISTEN connection for as long as the app runs, reconnecting when it drops."""
        app, backoff, last_alive = self._app, 0.5, None
        while True:
            try:
                con = await asyncpg.connect(
                    app[keys.config].database_url, timeout=10,
                    server_settings={"application_name": "chatd-listener"},  # visible in pg_stat_activity
                )
            except DB_ERRORS as error:
                log.warning("event=listen_connect_failed retry_in=%.1fs error=%s", backoff, type(error).__name__)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            try:
                lost = asyncio.Event()
                con.add_termination_listener(lambda _con: lost.set())
                await con.add_listener(NOTIFY_CHANNEL, self._on_notify)
                if last_alive is not None:
                    self._queue.put_nowait(CatchUp(last_alive - CATCH_UP_MARGIN))
                    log.info("event=listen_reconnected catch_up_since=%s", last_alive.isoformat())
                last_alive = await app[keys.queries].database_now(con)
                self.ready, backoff = True, 0.5
                self.first_ready.set()
                while not lost.is_set():
                    try:
                        await asyncio.wait_for(lost.wait(), PING_SECONDS)
                    except asyncio.TimeoutError:
                        last_alive = await asyncio.wait_for(app[keys.queries].database_now(con), PING_SECONDS)
            except DB_ERRORS as error:
                log.warning("event=listen_lost error=%s", type(error).__name__)
            finally:
                self.ready = False
                con.terminate()

    def _on_notify(self, _con, _pid: int, _channel: str, payload: str) -> None:
        self._queue.put_nowait(payload)

    async def dispatch(self) -> None:
        """One task applies notes in the order PostgreSQL sent them.

        Notes arrive in bursts (a group commit sends several at once). The messages of a burst
        are fanned out corked, so each socket gets its frames of the burst in one write; any
        other note first lets the corked frames go, keeping every socket's order. Between
        bursts the task yields, so incoming frames and commit replies are not held behind a
        long fan-out.
        """
        hub = self._app[keys.hub]
        while True:
            burst = [await self._queue.get()]
            await asyncio.sleep(0)  # first whatever else woke with this burst: the commit's reply starts the next batch
            while not self._queue.empty():
                burst.append(self._queue.get_nowait())
            hub.cork()
            try:
                for item in burst:
                    await self._dispatch_one(item, hub)
            finally:
                hub.uncork()
            await asyncio.sleep(0)

    async def _dispatch_one(self, item: str | CatchUp, hub) -> None:
        try:
            note = item if isinstance(item, CatchUp) else decode_note(item)
            if isinstance(note, MessageNote) and note.text is not None:
                self._deliver(note)
                return
            hub.uncork()  # what may wait (a read, a catch-up) or is not a message goes after the burst so far
            try:
                if isinstance(note, CatchUp):
                    await self._catch_up(note.since)
                else:
                    await self._apply(note)
            finally:
                hub.cork()
        except (msgspec.DecodeError, msgspec.ValidationError):
            log.warning("event=bad_note")
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            log.warning("event=note_failed error=%s", type(error).__name__)
        except Exception:
            # This task delivers every event of the process: one bad note must not end it.
            log.exception("event=note_failed")

    def _deliver(self, note: MessageNote) -> None:
        self._app[keys.metrics].notification_lag.observe(max(0.0, time.time() - note.created_at.timestamp()))
        self._app[keys.hub].deliver_message(note)

    async def _apply(self, note: Note) -> None:
        app = self._app
        hub = app[keys.hub]
        if isinstance(note, MessageNote):  # its text was too long for the note: read it
            row = await app[keys.queries].get_message(app[keys.pool], message_id=note.id)
            if row is not None:  # else deleted (with its server or channel) before we could read it
                self._deliver(message_note(row))
        elif isinstance(note, TypingNote):
            await hub.broadcast_to_channel(note.server_id, note.channel_id, {
                "type": "typing_start" if note.started else "typing_stop",
                "username": note.username, "userId": note.user_id,
                "serverId": note.server_id, "channelId": note.channel_id,
            }, exclude_user=note.user_id)
        elif isinstance(note, MemberAddedNote):
            hub.subscribe(note.user_id, note.server_id)
            await hub.broadcast_to_channel(note.server_id, None, {
                "type": "member_added", "serverId": note.server_id, "userId": note.user_id,
                "username": note.username, "role": note.role,
            })
        elif isinstance(note, MemberRemovedNote):
            await hub.broadcast_to_channel(note.server_id, None, {
                "type": "member_removed", "serverId": note.server_id, "userId": note.user_id,
            })
            hub.unsubscribe(note.user_id, note.server_id)
        elif isinstance(note, ChannelCreatedNote):
            await hub.broadcast_to_channel(note.server_id, note.id, {
                "type": "channel_created", "serverId": note.server_id,
                "channel": {"id": note.id, "server_id": note.server_id, "name": note.name,
                            "type": note.type.lower(), "position": note.position},
            })
        elif isinstance(note, ServerDeletedNote):
            await hub.broadcast_to_channel(note.server_id, None, {"type": "server_deleted", "serverId": note.server_id})
            hub.drop_server(note.server_id)

    async def _catch_up(self, since: datetime) -> None:
        app = self._app
        server_ids = app[keys.hub].server_ids()
        if not server_ids:
            return
        rows = app[keys.queries].list_messages_of_servers_since(app[keys.pool], server_ids=server_ids, since=since)
        async for row in rows:
            app[keys.hub].deliver_message(message_note(row))


