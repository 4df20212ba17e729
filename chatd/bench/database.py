"""The bench's database: the embedded PostgreSQL in a temporary directory (or the configured
one), migrated, and filled through chatd's own named queries (and those of sql/bench.sql)."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import asyncpg
from aiosql.queries import Queries
from argon2 import PasswordHasher

from chatd.domain.mentions import NONE, flattened
from chatd.domain.tokens import issue_token
from chatd.config import Config
from chatd.store.embedded import start_embedded
from chatd.store.notify import NOTIFY_CHANNEL
from chatd.store.migrations import apply_migrations
from chatd.store.pool import load_queries
from chatd.domain.schemas import User

COPY_BATCH = 1000
REACTION = "\N{THUMBS UP SIGN}"
COPY_COLUMNS = ("server_id", "channel_id", "user_id", "text", "created_at", "seq", "event_seq")


@contextlib.contextmanager
def database(config: Config) -> Iterator[tuple[str, bool]]:
    """The URL of a migrated database, and whether it is the bench's own (embedded, thrown
    away afterwards) rather than a configured one whose bench rows must be deleted."""
    if config.database_url:
        apply_migrations(config.database_url)
        yield config.database_url, False
        return
    with tempfile.TemporaryDirectory(prefix="chatd-bench-") as tmp:
        url = start_embedded(Path(tmp))
        apply_migrations(url)
        yield url, True


def bench_queries() -> Queries:
    """chatd's own queries, which fill the database as chatd would, and sql/bench.sql's, which
    measure and clean up: only the bench loads the latter."""
    return load_queries("bench.sql")


@dataclass
class Member:
    user_id: uuid.UUID
    token: str
    server_id: uuid.UUID
    channel_id: uuid.UUID
    dm_id: uuid.UUID | None = None  # the 1:1 conversation this member sends into, in DM trials


@dataclass
class Topology:
    """Users in servers of `members` each; each user is in exactly one server."""

    prefix: str
    members: list[Member] = field(default_factory=list)

    @property
    def channel_ids(self) -> list[uuid.UUID]:
        """The servers' channels and the conversations."""
        dms = [m.dm_id for m in self.members if m.dm_id is not None]
        return list(dict.fromkeys([*(m.channel_id for m in self.members), *dms]))


async def populate(pool: asyncpg.Pool, queries, config: Config, users: int, per_server: int,
                   dm_senders: int = 0) -> Topology:
    """Users and servers through chatd's queries. Every user shares one password hash,
    computed once: argon2 costs ~0.2 s per hash and nobody logs in with it. The first
    `dm_senders` members of each server get a 1:1 conversation with a member of the second
    half of it (its `dm_id`), the messages of the DM trials."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}-"
    password_hash = await asyncio.to_thread(PasswordHasher().hash, uuid.uuid4().hex)
    topology = Topology(prefix)
    gate = asyncio.Semaphore(8)

    async def make_server(first: int, count: int) -> None:
        async with gate:
            rows = [await queries.create_user(pool, username=f"{prefix}{first + i}", password_hash=password_hash,
                                              email=None) for i in range(count)]
            server = await queries.create_server(pool, name=f"{prefix}server-{first}", icon=None,
                                                 creator_id=rows[0]["user_id"])
            channel = [c async for c in queries.list_channels(pool, server_id=server["id"])][0]
            [_ async for _ in queries.add_members(
                pool, notify_channel=NOTIFY_CHANNEL, server_id=server["id"], user_ids=[r["user_id"] for r in rows],
                roles=["ADMIN"] + ["MEMBER"] * (len(rows) - 1), invite_code=None)]
            dms = {}
            for i in range(min(dm_senders, len(rows) // 2)):
                low, high = sorted([rows[i]["user_id"], rows[len(rows) // 2 + i]["user_id"]])
                dms[i] = await queries.create_dm_pair(pool, low_user_id=low, high_user_id=high)
            for i, row in enumerate(rows):
                token, _ = issue_token(config, User(row["user_id"], row["username"]))
                topology.members.append(Member(row["user_id"], token, server["id"], channel["id"], dms.get(i)))

    await asyncio.gather(*(make_server(first, min(per_server, users - first))
                           for first in range(0, users, per_server)))
    return topology


async def copy_history(pool: asyncpg.Pool, queries, server_id, channel_id, user_id, rows: int,
                       first_seq: int = 1, newest: datetime | None = None,
                       text: Callable[[int], str] | None = None) -> float:
    """COPY `rows` messages into one channel in batches of 1000 over a pool of 8; rows/s.

    created_at runs one millisecond apart up to `newest` (default now), so history is ordered as
    if posted. Each text is "history <seq>" and one word of a vocabulary of 2,000 (the long tail
    of words of real text); one in ten says "tenth" too: search's common term (its rare ones are
    the numbers). `text` (seq -> text) writes other texts instead.
    """
    text = text or _history_text
    newest = newest or datetime.now(timezone.utc)
    gate = asyncio.Semaphore(8)

    async def batch(start: int) -> None:
        records = [(server_id, channel_id, user_id, text(seq),
                    newest - timedelta(milliseconds=first_seq + rows - seq), seq, seq)
                   for seq in range(start, min(start + COPY_BATCH, first_seq + rows))]
        async with gate, pool.acquire() as con:
            await con.copy_records_to_table("chatmessage", records=records, columns=COPY_COLUMNS)

    started = time.perf_counter()
    await asyncio.gather(*(batch(s) for s in range(first_seq, first_seq + rows, COPY_BATCH)))
    elapsed = time.perf_counter() - started
    await queries.bench_set_last_seq(pool, channel_id=channel_id, last_seq=first_seq + rows - 1)
    return rows / elapsed


def _history_text(seq: int) -> str:
    return f"history {seq} word{seq * 7 % 2000}" + (" tenth" if seq % 10 == 0 else "")


async def join_servers(pool: asyncpg.Pool, queries, prefix: str, user_id, count: int) -> None:
    """`count` more servers, each with `user_id` as its ADMIN (search's "a user in 50 servers")."""
    for n in range(count):
        server = await queries.create_server(pool, name=f"{prefix}member-{n}", icon=None, creator_id=user_id)
        [_ async for _ in queries.add_members(pool, notify_channel="chatd_bench", server_id=server["id"],
                                              user_ids=[user_id], roles=["ADMIN"], invite_code=None)]


async def cleanup(pool: asyncpg.Pool, queries, prefix: str) -> None:
    """Against a configured database: remove what the bench created."""
    await queries.bench_delete_servers_of(pool, prefix=prefix)
    await queries.bench_delete_dms_of(pool, prefix=prefix)
    await queries.bench_delete_users(pool, prefix=prefix)


async def fill_changes(pool: asyncpg.Pool, queries, server_id, channel_id, user_id, messages: int, edits: int,
                       reactors: list[uuid.UUID], notify_channel: str, newest: datetime | None = None) -> int:
    """A channel's changes for the resume phase: `messages` new messages (COPY), then `edits`
    edits of them and a reaction from each of `reactors`, each through chatd's own change
    statements after the channel's lock, as chatd makes them (so each is recorded with the note
    chatd would have sent, here to `notify_channel`, which no chatd hears); the messages posted up
    to `newest` (default now). Its last eventSeq."""
    await copy_history(pool, queries, server_id, channel_id, user_id, messages, newest=newest)
    ids = [row["id"] async for row in queries.bench_list_message_ids(pool, channel_id=channel_id, lim=messages)]
    for n in range(edits):  # an edit takes the channel's lock itself
        [_ async for _ in queries.edit_messages(pool, notify_channel=notify_channel, ords=[1], server_ids=[server_id],
                                                channel_ids=[channel_id], message_ids=[ids[n % len(ids)]],
                                                texts=[f"edit {n}"], user_ids=[user_id], windows=[None],
                                                **flattened([NONE]))]
    for n, reactor in enumerate(reactors):
        async with pool.acquire() as con, con.transaction():
            [_ async for _ in queries.lock_channels_for_changes(con, server_ids=[server_id], channel_ids=[channel_id])]
            [_ async for _ in queries.react(con, notify_channel=notify_channel, ords=[1], channel_ids=[channel_id],
                                            message_ids=[ids[n % len(ids)]], emojis=[REACTION], user_ids=[reactor],
                                            adds=[True], max_emoji=20)]
    return await queries.bench_last_event_seq(pool, channel_id=channel_id)
