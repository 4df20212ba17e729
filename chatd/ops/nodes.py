"""This process's row in chatd_node: its live WebSocket connections, visible from psql and
`chatd stats` (the product spec's "Active connections", across every process)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from datetime import datetime, timezone

from aiohttp import web

from chatd import keys
from chatd.ops.tasks import cancel_and_wait
from chatd.store.pool import DB_ERRORS

log = logging.getLogger(__name__)

# A row not refreshed for this many beats belongs to a process that died without a clean stop.
STALE_BEATS = 6


async def node_ctx(app: web.Application):
    """cleanup_ctx (after the gateway): a row from start to clean stop, refreshed every beat."""
    node = {"node_id": uuid.uuid4(), "host": socket.gethostname(), "pid": os.getpid(),
            "started_at": datetime.now(timezone.utc)}
    interval = app[keys.config].node_interval_seconds
    await _beat(app, node, interval)
    task = asyncio.create_task(_beat_forever(app, node, interval))
    yield
    await cancel_and_wait(task)
    try:
        await app[keys.queries].delete_node(app[keys.pool], node_id=node["node_id"])
    except DB_ERRORS as error:
        log.warning("event=node_delete_failed error=%s", type(error).__name__)


async def _beat_forever(app: web.Application, node: dict, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        await _beat(app, node, interval)


async def _beat(app: web.Application, node: dict, interval: float) -> None:
    """A database that is away costs no process (and, once noticed, no more log lines): the next
    beat catches up."""
    hub = app[keys.hub]
    try:
        async with asyncio.timeout(interval):  # not wait_for: see chatd.store.notify
            await app[keys.queries].upsert_node(
                app[keys.pool], **node, connections=hub.connection_count, users=len(hub.active_connections),
                stale_seconds=interval * STALE_BEATS)
    except DB_ERRORS as error:
        if not app[keys.availability].noticed(error):  # an outage is logged once, by availability
            log.warning("event=node_beat_failed error=%s", type(error).__name__)
