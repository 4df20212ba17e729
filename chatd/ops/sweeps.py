"""What every process deletes once a minute, so tables hold what is still read:

- nonce claims (chatmessage_nonce): a claim stands for its message for 5 minutes, after which
  nothing reads it, so the table holds about 5 minutes of nonces, not every nonce ever sent;
- changes past CHATD_CHANGE_RETENTION (message_change), oldest first, a bounded number per
  statement; each channel's horizon moves past them, and a resume from before it is told to
  reload (resync_required, 410); with them the tombstones of deleted channels and threads
  (deleted_channel), which tell a resume channel_deleted for as long as it could ask for changes;
- and it archives threads that went their auto_archive_minutes without a message.

And every CHATD_UPLOAD_SWEEP, uploads never attached to a message within CHATD_UPLOAD_TTL, with
their files (chatd.domain.attachments: one process at a time, by an advisory lock).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from chatd import keys
from chatd.domain.attachments import sweep_uploads
from chatd.ops.tasks import cancel_and_wait
from chatd.store.pool import DB_ERRORS

log = logging.getLogger(__name__)

SWEEP_SECONDS = 60.0
CHANGES_PER_STATEMENT = 5000
THREADS_PER_STATEMENT = 1000


async def sweep_ctx(app: web.Application):
    """cleanup_ctx (after the pool): sweeps while the app runs."""
    tasks = [asyncio.create_task(_sweep_forever(app)), asyncio.create_task(_sweep_uploads_forever(app))]
    yield
    await cancel_and_wait(*tasks)


async def _sweep_forever(app: web.Application) -> None:
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        await sweep_nonce_claims(app)
        await sweep_changes(app)
        await sweep_idle_threads(app)


async def _sweep_uploads_forever(app: web.Application) -> None:
    while True:
        await asyncio.sleep(app[keys.config].upload_sweep.total_seconds())
        async with _failures_logged(app, "upload_sweep_failed"):
            await sweep_uploads(app)


async def sweep_nonce_claims(app: web.Application) -> None:
    async with _failures_logged(app, "nonce_sweep_failed"):
        await app[keys.queries].delete_expired_nonce_claims(app[keys.pool])


async def sweep_changes(app: web.Application) -> None:
    """Until what is past retention is gone (changes, then tombstones), one bounded statement
    at a time."""
    retention, queries = app[keys.config].change_retention, app[keys.queries]
    async with _failures_logged(app, "change_sweep_failed"):
        for prune in (queries.prune_changes, queries.prune_deleted_channels):
            while await prune(app[keys.pool], retention=retention, lim=CHANGES_PER_STATEMENT) == CHANGES_PER_STATEMENT:
                pass


async def sweep_idle_threads(app: web.Application) -> None:
    """Archive idle threads, one bounded statement at a time (each sends its threads' notes);
    processes sweeping at once skip each other's rows."""
    notes, queries = app[keys.notes], app[keys.queries]
    async with _failures_logged(app, "thread_sweep_failed"):
        while await notes.emit(queries.archive_idle_threads, app[keys.pool],
                               lim=THREADS_PER_STATEMENT) == THREADS_PER_STATEMENT:
            pass


@contextlib.asynccontextmanager
async def _failures_logged(app: web.Application, event: str) -> AsyncIterator[None]:
    """A database that is away is the outage's one log line; the next sweep catches up."""
    try:
        yield
    except DB_ERRORS as error:
        if not app[keys.availability].noticed(error):  # an outage is logged once, by availability
            log.warning("event=%s error=%s", event, type(error).__name__)
