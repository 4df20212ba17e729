"""The gateway's lifetime inside the app: hub, typing, the listener on the note bus, and a graceful stop."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import WSCloseCode, web

from chatd import keys
from chatd.gateway.connects import ConnectLookup
from chatd.gateway.hub import Hub
from chatd.gateway.listener import Listener
from chatd.gateway.typing import TypingTracker
from chatd.ops.tasks import cancel_and_wait

log = logging.getLogger(__name__)

FIRST_LISTEN_SECONDS = 10.0


async def gateway_ctx(app: web.Application):
    """cleanup_ctx (after the note bus): notes are received before the first request is served."""
    app[keys.hub] = Hub(app.get(keys.metrics))
    lookup = app[keys.connect_lookup] = ConnectLookup(app[keys.pool], app[keys.queries])
    app[keys.typing] = TypingTracker(app)
    listener = Listener(app)
    bus = app[keys.notes]
    bus.subscribe(listener)
    dispatcher = asyncio.create_task(listener.dispatch())
    try:
        await asyncio.wait_for(bus.first_ready.wait(), FIRST_LISTEN_SECONDS)
    except asyncio.TimeoutError:
        log.warning("event=listen_not_ready_at_start")
    yield
    await lookup.drain()
    await cancel_and_wait(dispatcher)


async def close_sockets(app: web.Application) -> None:
    """on_shutdown: every client is told we are going away (1001) and may reconnect elsewhere."""
    connections = list(app[keys.hub].connections())
    await asyncio.gather(
        *(c.close(WSCloseCode.GOING_AWAY, "server shutting down") for c in connections),
        return_exceptions=True,
    )
    if connections:
        log.info("event=ws_closed_for_shutdown count=%d", len(connections))
