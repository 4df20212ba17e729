"""This process's row in chatd_node: its live WebSocket connections, visible from psql and
`chatd stats` (the product spec's "Active connections", across every process). Its beat also
keeps presence true across processes: the users of processes that died or stopped go offline
(chatd.domain.presence)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from datetime import datetime, timezone

from aiohttp import web

from chatd import keys
from chatd.domain.presence import dead_seconds
from chatd.ops.tasks import cancel_and_wait
from chatd.store.pool import DB_ERRORS

log = logging.getLogger(__name__)

# A row not refreshed for this many beats belongs to a process that died without a clean stop
# (and at least as long as its users stay shown connected: dead_seconds).
STALE_BEATS = 6


async def node_ctx(app: web.Application):
    """cleanup_ctx (after the gateway): a row from start to clean stop, refreshed every beat."""
    node = {"node_id": app[keys.presence].node_id, "host": socket.gethostname(), "pid": os.getpid(),
            "started_at": datetime.now(timezone.utc)}
    interval = app[keys.config].node_interval_seconds
    await _beat(app, node, interval)
    task = asyncio.create_task(_beat_forever(app, node, interval))
    yield
    await cancel_and_wait(task)
    try:
        await app[keys.queries].expire_node_users(app[keys.pool], node_id=node["node_id"],
                                                  grace_seconds=app[keys.config].presence_grace.total_seconds())
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
    hub, presence, queries, pool = app[keys.hub], app[keys.presence], app[keys.queries], app[keys.pool]
    dead = dead_seconds(app[keys.config])
    try:
        async with asyncio.timeout(interval):  # not wait_for: see chatd.store.notify
            swept = await queries.upsert_node(
                pool, **node, connections=hub.connection_count, users=len(hub.active_connections),
                stale_seconds=max(interval * STALE_BEATS, dead), dead_seconds=dead)
            if swept:
                presence.rewrite()
            else:
                presence.retry()
            gone = [(row["node_id"], row["user_id"]) async for row in queries.list_gone_node_users(
                pool, dead_seconds=dead)]
        if gone:
            presence.sweep(gone)
    except DB_ERRORS as error:
        if not app[keys.availability].noticed(error):  # an outage is logged once, by availability
            log.warning("event=node_beat_failed error=%s", type(error).__name__)
