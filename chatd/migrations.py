"""Schema migrations: the yoyo files in migrations/, applied under yoyo's lock."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from yoyo import get_backend, read_migrations

from chatd.db import DatabaseUnavailable
from chatd.resources import resource_dir


@dataclass(frozen=True)
class MigrationState:
    id: str
    applied: bool


def _backend(database_url: str):
    # yoyo picks its driver from the scheme; chatd's URLs are libpq URLs.
    scheme, rest = database_url.split("://", 1)
    uri = f"postgresql+psycopg://{rest}" if scheme in ("postgresql", "postgres") else database_url
    try:
        return get_backend(uri)
    except psycopg.OperationalError as error:
        raise DatabaseUnavailable(f"cannot connect to the database: {str(error).strip()}") from None


def apply_migrations(database_url: str) -> list[str]:
    """Apply what is pending and return the ids applied.

    yoyo's lock row makes a second process that starts at the same moment wait, then find
    nothing left to do, instead of running the same migration twice.
    """
    backend = _backend(database_url)
    migrations = read_migrations(str(resource_dir("migrations")))
    try:
        with backend.lock(timeout=60):
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
            return [m.id for m in pending]
    finally:
        backend.connection.close()


def migration_states(database_url: str) -> list[MigrationState]:
    backend = _backend(database_url)
    try:
        migrations = read_migrations(str(resource_dir("migrations")))
        return [MigrationState(m.id, backend.is_applied(m)) for m in migrations]
    finally:
        backend.connection.close()
