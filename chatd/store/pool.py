"""The connection pool and the named queries of sql/, for the lifetime of the app."""

from __future__ import annotations

import asyncio
import logging

import aiosql
import asyncpg
from aiohttp import web

from chatd import keys
from chatd.store.resources import resource_dir

log = logging.getLogger(__name__)


POOL_CLOSE_SECONDS = 5.0
# What a database that is away or failing raises: callers that can carry on catch these.
DB_ERRORS = (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


class DatabaseUnavailable(RuntimeError):
    """The configured database cannot be reached; the message is safe to print."""


def load_queries() -> aiosql.queries.Queries:
    return aiosql.from_path(resource_dir("sql"), "asyncpg")


async def _keep_session(_connection: asyncpg.Connection) -> None:
    """chatd's queries leave no session state behind (no SET, LISTEN, cursor or session
    advisory lock; transactions are always closed), so the RESET ALL / UNLISTEN * round trip
    asyncpg sends on every release by default is pure cost: one extra round trip per query."""


async def create_pool(database_url: str, max_size: int = 10) -> asyncpg.Pool:
    try:
        return await asyncpg.create_pool(database_url, min_size=1, max_size=max_size, timeout=10,
                                         reset=_keep_session)
    except DB_ERRORS as error:
        raise DatabaseUnavailable(f"cannot connect to the database: {error}") from None


async def database_ctx(app: web.Application):
    """cleanup_ctx: the pool exists exactly while the app runs."""
    config = app[keys.config]
    app[keys.queries] = load_queries()
    app[keys.pool] = await create_pool(config.database_url)
    yield
    try:
        await asyncio.wait_for(app[keys.pool].close(), POOL_CLOSE_SECONDS)
    except asyncio.TimeoutError:
        log.warning("event=pool_close_timeout")
        app[keys.pool].terminate()
