"""Schema migrations: the yoyo files in migrations/, applied under one PostgreSQL advisory lock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import aiosql
import psycopg
from yoyo import get_backend, read_migrations
from yoyo.migrations import MigrationList

from chatd.store.pool import DatabaseUnavailable
from chatd.store.resources import resource_dir

# How long a start waits for another process that is migrating the same database.
LOCK_TIMEOUT_SECONDS = 120


class MigrationFailed(RuntimeError):
    """A migration that stopped (and was rolled back): the message names it and says what
    PostgreSQL said, hints included, and is safe to print."""


@dataclass(frozen=True)
class MigrationState:
    id: str
    applied: bool


def migration_ids() -> list[str]:
    """The ids of the migrations this chatd ships (yoyo's id is the file name, minus .sql)."""
    return sorted(p.stem for p in resource_dir("migrations").glob("*.sql") if not p.stem.endswith(".rollback"))


def apply_migrations(database_url: str) -> list[str]:
    """Apply what is pending and return the ids applied.

    A second process that starts at the same moment waits for the lock, then finds nothing
    left to do, instead of running the same migration twice.
    """
    with _migrating(database_url) as backend:
        migrations = read_migrations(str(resource_dir("migrations")))
        with backend.lock(timeout=LOCK_TIMEOUT_SECONDS):
            pending = backend.to_apply(migrations)
            for migration in pending:  # one at a time, so a failure can name its migration
                try:
                    backend.apply_migrations(MigrationList([migration]))
                except psycopg.Error as error:
                    raise MigrationFailed(_explain(migration.id, error)) from None
            return [m.id for m in pending]


def migration_states(database_url: str) -> list[MigrationState]:
    with _migrating(database_url) as backend:
        migrations = read_migrations(str(resource_dir("migrations")))
        return [MigrationState(m.id, backend.is_applied(m)) for m in migrations]


@contextmanager
def _migrating(database_url: str) -> Iterator:
    """A yoyo backend, used while this process holds the migrations advisory lock.

    Holding that lock proves no other chatd is migrating, so a yoyo lock row still present
    was left by a process that died mid-migration: it is removed rather than waited on.
    """
    queries = aiosql.from_path(resource_dir("sql") / "migrations.sql", "psycopg")
    try:
        lock_connection = psycopg.connect(
            database_url, autocommit=True, options=f"-c lock_timeout={LOCK_TIMEOUT_SECONDS}s"
        )
    except psycopg.OperationalError as error:
        raise DatabaseUnavailable(f"cannot connect to the database: {_first_line(error)}") from None
    with lock_connection:
        try:
            queries.lock_migrations(lock_connection)
        except psycopg.errors.LockNotAvailable:
            raise DatabaseUnavailable(
                f"another process has been migrating the database for {LOCK_TIMEOUT_SECONDS} s; "
                "giving up"
            ) from None
        backend = _backend(database_url)
        try:
            backend.break_lock()
            yield backend
        finally:
            backend.connection.close()


def _backend(database_url: str):
    # yoyo picks its driver from the scheme; chatd's URLs are libpq URLs.
    scheme, rest = database_url.split("://", 1)
    uri = f"postgresql+psycopg://{rest}" if scheme in ("postgresql", "postgres") else database_url
    try:
        return get_backend(uri)
    except psycopg.OperationalError as error:
        raise DatabaseUnavailable(f"cannot connect to the database: {_first_line(error)}") from None


def _explain(migration_id: str, error: psycopg.Error) -> str:
    """What PostgreSQL said, with its detail and hint: a migration that stops on purpose (a
    RAISE in a DO block) explains there what the operator must do."""
    diag = error.diag
    lines = [f"migration {migration_id} stopped: {diag.message_primary or _first_line(error)}"]
    lines += [f"  {text}" for text in (diag.message_detail, diag.message_hint) if text]
    return "\n".join(lines)


def _first_line(error: Exception) -> str:
    """libpq adds indented hints on further lines; the first says what went wrong."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
