"""The connection pool and the named queries of sql/, for the lifetime of the app."""

from __future__ import annotations

import asyncio
import functools
import logging

import asyncpg
from aiohttp import web
from aiosql.adapters.asyncpg import AsyncPGAdapter
from aiosql.queries import Queries
from aiosql.query_loader import QueryLoader

from chatd import keys
from chatd.store.resources import resource_dir

log = logging.getLogger(__name__)


POOL_CLOSE_SECONDS = 5.0
# What a database that is away or failing raises: callers that can carry on catch these.
# InternalClientError is no InterfaceError, yet a connection that PostgreSQL ended raises it (OUT_OF_STEP).
DB_ERRORS = (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)


class ConnectFailed(ConnectionError):
    """The pool could not open a connection (refused, reset, no socket file, unreachable, timed
    out); raised in place of that OSError, which a client's dropped connection raises too, so
    only the database's can be told apart. The OSError is its __cause__."""


# What says the database itself is away (stopped, restarting, failing over, refusing
# connections or full of them, the connection lost mid-query), as opposed to a statement's own
# failure (a constraint, a lock timeout), which is a bug and stays one.
UNAVAILABLE = (
    ConnectFailed, asyncpg.PostgresConnectionError, asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError, asyncpg.TooManyConnectionsError,
)
# asyncpg's InterfaceError also means a misused call (a wrong number of arguments); only those
# ending so say the connection is gone: "connection is closed", "cannot perform operation:
# connection is closed", and a transaction's exit, which asyncpg raises in place of what failed
# inside ("cannot call Transaction.__aexit__(): the underlying connection is closed").
CLOSED_CONNECTION = "connection is closed"
# PostgreSQL ending a session (shutting down, a terminated backend) sends a FATAL error, then
# closes the socket. A pooled connection that has read the one and not yet the other (a loaded
# machine widens that gap) refuses its next statement with "cannot switch to state 12; another
# operation (2) is in progress" and closes. Overlapping statements, chatd's possible misuse, are
# refused before that, with an InterfaceError.
OUT_OF_STEP = "cannot switch to state "


def unavailable(error: BaseException) -> bool:
    """Whether `error` means the database is unavailable rather than that a statement failed.
    Asked only once something has failed: a success costs nothing."""
    return isinstance(error, UNAVAILABLE) or (
        isinstance(error, asyncpg.InterfaceError) and str(error).endswith(CLOSED_CONNECTION)) or (
        isinstance(error, asyncpg.InternalClientError) and str(error).startswith(OUT_OF_STEP))


class DatabaseUnavailable(RuntimeError):
    """The configured database cannot be reached; the message is safe to print."""


# The sql/ files that belong to one command, which loads them itself: `chatd bench`'s,
# `chatd stats`'s, `chatd seed`'s, and the migration lock (psycopg, chatd.store.migrations).
# A running chatd loads every other file, and none of these.
COMMAND_FILES = ("bench.sql", "monitoring.sql", "migrations.sql", "seed.sql")


@functools.cache
def load_queries(*command_files: str, app: bool = True) -> Queries:
    """The running app's queries, plus those of a command's own `command_files`; with
    app=False, those alone. What aiosql.from_path does for a folder, for a list of files
    (a name defined twice is an error). Read once per process: parsing sql/ takes a tenth of
    a second, which every app made in one process (each test's) would pay again."""
    sql = resource_dir("sql")
    paths = [p for p in sorted(sql.glob("*.sql")) if p.name not in COMMAND_FILES] if app else []
    paths += [sql / name for name in command_files]
    adapter = AsyncPGAdapter()
    loader = QueryLoader(adapter, None, attribute="__")
    return Queries(adapter).load_from_list([query for path in paths for query in loader.load_query_data_from_file(path)])


async def fetch_rows(queries: Queries, pool: asyncpg.Pool, name: str, **params) -> list[asyncpg.Record]:
    """The rows of a SELECT of sql/ as one list, for the queries that read thousands of rows:
    aiosql hands each row through two async generators, about a microsecond a row (a
    twentieth of chatd's CPU in a resume). The same statement and parameters, run by asyncpg's
    fetch."""
    return await pool.fetch(getattr(queries, name).sql, *queries.driver_adapter.maybe_order_params(name, params))


async def _keep_session(_connection: asyncpg.Connection) -> None:
    """chatd's queries leave no session state behind (no SET, LISTEN, cursor or session
    advisory lock; transactions are always closed), so the RESET ALL / UNLISTEN * round trip
    asyncpg sends on every release by default is pure cost: one extra round trip per query."""


async def _connect(*args, **kwargs) -> asyncpg.Connection:
    """The pool's way to open a connection (asyncpg's `connect` hook): asyncpg.connect, with
    its OSError marked as the database's."""
    try:
        return await asyncpg.connect(*args, **kwargs)
    except OSError as error:
        raise ConnectFailed(f"{type(error).__name__}: {error}") from error


async def create_pool(database_url: str, max_size: int = 10) -> asyncpg.Pool:
    try:
        return await asyncpg.create_pool(database_url, min_size=1, max_size=max_size, timeout=10,
                                         reset=_keep_session, connect=_connect)
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
