"""`chatd seed`: the product spec's seed_chat_data.py. Three sample servers with TEXT and
VOICE channels, every existing user a member and the first user ADMIN; safe to run again."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from chatd.domain.passwords import hash_password
from chatd.store.pool import create_pool, load_queries
from chatd.store.notify import NOTIFY_CHANNEL

SAMPLE_SERVERS: list[tuple[str, list[tuple[str, str]]]] = [
    ("chatd Community", [("general", "TEXT"), ("announcements", "TEXT"), ("Lounge", "VOICE")]),
    ("Gaming", [("general", "TEXT"), ("looking-for-group", "TEXT"), ("Squad", "VOICE")]),
    ("Study Group", [("general", "TEXT"), ("homework-help", "TEXT"), ("Study Room", "VOICE")]),
]


class NoUsers(Exception):
    """A server needs a creator; the seed makes none unless asked to (--demo-users)."""


@dataclass(frozen=True)
class SeededServer:
    name: str
    channels: int
    members: int
    new_channels: int
    new_members: int


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str


async def create_demo_users(pool, queries, count: int) -> list[DemoUser]:
    users: list[DemoUser] = []
    while len(users) < count:
        user = DemoUser(f"demo_{secrets.token_hex(3)}", secrets.token_urlsafe(12))
        row = await queries.create_user(pool, username=user.username,
                                        password_hash=hash_password(user.password), email=None)
        if row is not None:  # None: the random name was taken; draw another
            users.append(user)
    return users


async def seed_servers(pool, queries) -> list[SeededServer]:
    """One transaction under an advisory lock: concurrent seeds still leave three servers."""
    seeded = []
    async with pool.acquire() as con, con.transaction():
        await queries.lock_seed(con)
        admin = await queries.get_first_user(con)
        if admin is None:
            raise NoUsers("no users yet: register one first, or pass --demo-users N")
        for name, channels in SAMPLE_SERVERS:
            server_id = await queries.get_server_id_by_name(con, name=name)
            if server_id is None:
                server_id = await queries.create_seed_server(con, name=name, creator_id=admin["user_id"])
            new_channels = 0
            for channel, kind in channels:
                added = await queries.add_seed_channel(con, server_id=server_id, name=channel, type=kind)
                new_channels += added is not None
            user_ids = [row["user_id"] async for row in queries.list_user_ids(con)]
            roles = ["ADMIN" if user_id == admin["user_id"] else "MEMBER" for user_id in user_ids]
            new_members = len([row async for row in queries.add_members(
                con, notify_channel=NOTIFY_CHANNEL, server_id=server_id, user_ids=user_ids, roles=roles, invite_code=None)])
            counts = await queries.count_server_channels_and_members(con, server_id=server_id)
            seeded.append(SeededServer(name, counts["channels"], counts["members"], new_channels, new_members))
    return seeded


async def seed(database_url: str, demo_users: int = 0) -> tuple[list[DemoUser], list[SeededServer]]:
    pool = await create_pool(database_url, max_size=2)
    try:
        queries = load_queries("seed.sql")
        users = await create_demo_users(pool, queries, demo_users)
        return users, await seed_servers(pool, queries)
    finally:
        await pool.close()


def report(users: list[DemoUser], servers: list[SeededServer]) -> str:
    """What the operator needs: the demo passwords (shown only here) and what each server has."""
    lines = [f"demo user {u.username} password {u.password}" for u in users]
    lines += [f"server {s.name!r}: {s.channels} channels (+{s.new_channels}), "
              f"{s.members} members (+{s.new_members})" for s in servers]
    return "\n".join(lines) + "\n"
