"""The chatd command line: serve (the default), migrate, seed, stats, token, bench."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from dataclasses import replace

from chatd.config import LISTEN_BACKLOG, Config, ConfigError
from chatd.store.pool import DatabaseUnavailable
from chatd.store.embedded import EmbeddedUnavailable
from chatd.ops.logs import setup_logging

log = logging.getLogger("chatd")


def load_config() -> tuple[Config, str]:
    """Read configuration, and start the embedded database when none is configured.

    Returns the configuration with its database URL filled in, and a description of that
    database fit for a log line (no password).
    """
    from chatd.store.embedded import start_embedded

    config = Config.from_env().with_secret_key()
    setup_logging(log_format=config.log_format)
    if config.secret_key_generated:
        log.info("event=secret_key_generated path=%s", config.data_dir / "secret_key")
    where = config.describe_database()
    if config.embedded:
        config = replace(config, database_url=start_embedded(config.data_dir))
    return config, where


def cmd_serve(args: argparse.Namespace) -> int:
    import uvloop
    from aiohttp import web

    from chatd.app import create_app
    from chatd.ops.logs import AccessLogger
    from chatd.ops.sdnotify import notify

    config, where = load_config()
    applied = migrate(config.database_url)
    if applied is None:
        return 1
    if applied:
        log.info("event=migrated applied=%s", ",".join(applied))

    def announce(_message: str) -> None:
        log.info("event=listening url=http://%s:%s database=%r", config.host, config.port, where)
        notify(config.notify_socket, "READY=1")  # run_app calls this once the sites are serving

    web.run_app(
        create_app(config), host=config.host, port=config.port, loop=uvloop.new_event_loop(),
        access_log_class=AccessLogger, print=announce, shutdown_timeout=8.0, backlog=LISTEN_BACKLOG,
    )
    return 0


def migrate(database_url: str) -> list[str] | None:
    """The ids of the migrations applied; None, the reason printed, when one stopped (the
    database is left as it was before that migration)."""
    from chatd.store.migrations import MigrationFailed, apply_migrations

    try:
        return apply_migrations(database_url)
    except MigrationFailed as error:
        print(f"chatd: {error}", file=sys.stderr)
        return None


def cmd_migrate(args: argparse.Namespace) -> int:
    from chatd.store.migrations import migration_states

    config, _ = load_config()
    if args.list:
        for state in migration_states(config.database_url):
            print(f"{'applied' if state.applied else 'pending'}  {state.id}")
        return 0
    applied = migrate(config.database_url)
    if applied is None:
        return 1
    print(f"applied {len(applied)} migration(s){': ' + ', '.join(applied) if applied else ''}")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from chatd.ops import seed

    config, _ = load_config()
    try:
        users, servers = asyncio.run(seed.seed(config.database_url, args.demo_users))
    except seed.NoUsers as error:
        print(f"chatd: {error}", file=sys.stderr)
        return 1
    print(seed.report(users, servers), end="")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from chatd.ops import stats

    config, _ = load_config()
    sections = asyncio.run(stats.collect(config.database_url))
    print(stats.as_json(sections) if args.json else stats.as_tables(sections), end="")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from chatd.domain.tokens import issue_token
    from chatd.store.pool import create_pool, load_queries
    from chatd.domain.schemas import User

    config, _ = load_config()

    async def lookup():
        pool = await create_pool(config.database_url, max_size=1)
        try:
            return await load_queries().get_user_by_username(pool, username=args.username)
        finally:
            await pool.close()

    row = asyncio.run(lookup())
    if row is None:
        print(f"chatd: no user named {args.username!r}", file=sys.stderr)
        return 1
    print(issue_token(config, User(row["user_id"], row["username"]))[0])
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from chatd.bench.cli import run

    return run(args)


def _count(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()):  # "¹" is a digit to str.isdigit, not to int()
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number of 0 or more")
    return int(raw)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatd", description="A Discord-style chat backend over PostgreSQL.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("serve", help="run the server (the default)").set_defaults(func=cmd_serve)
    migrate = sub.add_parser("migrate", help="apply pending database migrations")
    migrate.add_argument("--list", action="store_true", help="show applied and pending migrations")
    migrate.set_defaults(func=cmd_migrate)
    seed = sub.add_parser("seed", help="create the 3 sample servers and make every user a member",
                          description="Create 3 sample servers with TEXT and VOICE channels, make every "
                          "existing user a member (the first user ADMIN). Running it again adds only "
                          "what is missing.")
    seed.add_argument("--demo-users", type=_count, default=0, metavar="N",
                      help="first create N users with random passwords, printed once")
    seed.set_defaults(func=cmd_seed)
    stats = sub.add_parser("stats", help="print message, user, connection and size statistics",
                           description="Run the queries of sql/monitoring.sql and print their results.")
    stats.add_argument("--json", action="store_true", help="one JSON object, for scripts")
    stats.set_defaults(func=cmd_stats)
    token = sub.add_parser("token", help="print a fresh access token for an existing user")
    token.add_argument("username")
    token.set_defaults(func=cmd_token)
    from chatd.bench.cli import add_arguments

    bench = sub.add_parser("bench", help="measure chatd against this machine's own ceilings",
                           description="Start a database and chatd processes, drive them with "
                           "WebSocket and HTTP clients, and print each figure beside its ceiling.")
    add_arguments(bench)
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    func = getattr(args, "func", cmd_serve)
    try:
        return func(args)
    except ConfigError as error:
        print(f"chatd: configuration error: {error}", file=sys.stderr)
        return 2
    except (DatabaseUnavailable, EmbeddedUnavailable) as error:
        print(f"chatd: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"chatd: {error.strerror or error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
