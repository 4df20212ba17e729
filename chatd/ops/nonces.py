"""Sweeping nonce claims (chatmessage_nonce): a claim stands for its message for 5 minutes,
after which nothing reads it, so every process deletes the expired ones once a minute and
the table holds about 5 minutes of nonces, not every nonce ever sent."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from chatd import keys
from chatd.ops.tasks import cancel_and_wait
from chatd.store.pool import DB_ERRORS

log = logging.getLogger(__name__)

SWEEP_SECONDS = 60.0


async def nonce_sweep_ctx(app: web.Application):
    """cleanup_ctx (after the pool): sweeps while the app runs."""
    task = asyncio.create_task(_sweep_forever(app))
    yield
    await cancel_and_wait(task)


async def _sweep_forever(app: web.Application) -> None:
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        await sweep_nonce_claims(app)


async def sweep_nonce_claims(app: web.Application) -> None:
    """A database that is away is the outage's one log line; the next sweep catches up."""
    try:
        await app[keys.queries].delete_expired_nonce_claims(app[keys.pool])
    except DB_ERRORS as error:
        if not app[keys.availability].noticed(error):  # an outage is logged once, by availability
            log.warning("event=nonce_sweep_failed error=%s", type(error).__name__)
