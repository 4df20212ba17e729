"""The notes between processes over PostgreSQL NOTIFY: chatd's NoteBus.

Statements send their notes with pg_notify on NOTIFY_CHANNEL; one dedicated connection per
process LISTENs (a pooled one would be UNLISTENed on release). When that connection drops
(PostgreSQL restart, terminated backend) the bus reports not-ready, reconnects with backoff, and
tells its receivers since when they may have missed notes, so they read what committed meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import asyncpg
from aiohttp import web

from chatd import keys
from chatd.domain.notes import Note, Receiver, encode_note
from chatd.ops.tasks import cancel_and_wait
from chatd.store.pool import DB_ERRORS

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "chatd"
PING_SECONDS = 5.0
MAX_BACKOFF = 10.0
# A message's created_at is taken at insert; its commit (and NOTIFY) may come a little later.
CATCH_UP_MARGIN = timedelta(seconds=30)


class PgNotify:
    def __init__(self, app: Mapping, channel: str = NOTIFY_CHANNEL):
        self._app, self.channel = app, channel
        self._receivers: list[Receiver] = []
        self.ready = False
        self.first_ready = asyncio.Event()

    def emit(self, statement: Callable[..., Any], executor: Any, **params: Any) -> Any:
        return statement(executor, notify_channel=self.channel, **params)

    async def publish(self, note: Note) -> None:
        app = self._app
        await app[keys.queries].publish_event(app[keys.pool], notify_channel=self.channel, payload=encode_note(note))

    def subscribe(self, receiver: Receiver) -> None:
        self._receivers.append(receiver)

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
                await con.add_listener(self.channel, self._on_notify)
                if last_alive is not None:
                    for receiver in self._receivers:
                        receiver.missed(last_alive - CATCH_UP_MARGIN)
                    log.info("event=listen_reconnected catch_up_since=%s", last_alive.isoformat())
                last_alive = await app[keys.queries].database_now(con)
                self.ready, backoff = True, 0.5
                self.first_ready.set()
                while not lost.is_set():
                    # asyncio.timeout, not wait_for: on Python 3.11 wait_for drops a cancellation that
                    # comes as what it awaits completes, and the app's cleanup would wait for this task
                    # forever.
                    try:
                        async with asyncio.timeout(PING_SECONDS):
                            await lost.wait()
                    except TimeoutError:
                        async with asyncio.timeout(PING_SECONDS):
                            last_alive = await app[keys.queries].database_now(con)
            except DB_ERRORS as error:
                log.warning("event=listen_lost error=%s", type(error).__name__)
            finally:
                self.ready = False
                con.terminate()

    def _on_notify(self, _con, _pid: int, _channel: str, payload: str) -> None:
        for receiver in self._receivers:
            receiver.received(payload)


async def notes_ctx(app: web.Application):
    """cleanup_ctx (after the pool): the bus listens for as long as the app runs."""
    bus = app[keys.notes] = PgNotify(app)
    task = asyncio.create_task(bus.run())
    yield
    await cancel_and_wait(task)
