"""The gateway's lifetime inside the app: hub, typing, listener tasks, and a graceful stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import WSCloseCode, web

from chatd import keys
from chatd.gateway.connects import ConnectLookup
from chatd.gateway.hub import Hub
from chatd.gateway.listener import Listener
from chatd.gateway.typing import TypingTracker

log = logging.getLogger(__name__)

FIRST_LISTEN_SECONDS = 10.0


async def gateway_ctx(app: web.Application):
    """cleanup_ctx (after the pool): LISTEN is up before the first request is served."""
    app[keys.hub] = Hub(app.get(keys.metrics))
    lookup = app[keys.connect_lookup] = ConnectLookup(app[keys.pool], app[keys.queries])
    app[keys.typing] = TypingTracker(app)
    listener = app[keys.listener] = Listener(app)
    tasks = [asyncio.create_task(listener.run()), asyncio.create_task(listener.dispatch())]
    try:
        await asyncio.wait_for(listener.first_ready.wait(), FIRST_LISTEN_SECONDS)
    except asyncio.TimeoutError:
        log.warning("event=listen_not_ready_at_start")
    yield
    await lookup.drain()
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def close_sockets(app: web.Application) -> None:
    """on_shutdown: every client is told we are going away (1001) and may reconnect elsewhere."""
    connections = list(app[keys.hub].connections())
    await asyncio.gather(
        *(c.close(WSCloseCode.GOING_AWAY, "server shutting down") for c in connections),
        return_exceptions=True,
    )
    if connections:
        log.info("event=ws_closed_for_shutdown count=%d", len(connections))
