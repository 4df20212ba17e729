"""`chatd seed` and `chatd stats`, run as real processes against the test database."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from datetime import datetime, timezone

import aiosql
import pytest

from chatd.ops.stats import QUERIES, monitoring_queries
from tests.conftest import PASSWORD, TEST_SQL

SEEDED_CHANNELS = [
    ("Gaming", "general", "TEXT", 0), ("Gaming", "looking-for-group", "TEXT", 1), ("Gaming", "Squad", "VOICE", 2),
    ("Study Group", "general", "TEXT", 0), ("Study Group", "homework-help", "TEXT", 1),
    ("Study Group", "Study Room", "VOICE", 2),
    ("chatd Community", "general", "TEXT", 0), ("chatd Community", "announcements", "TEXT", 1),
    ("chatd Community", "Lounge", "VOICE", 2),
]


@pytest.fixture(scope="module")
def ops_queries():
    return aiosql.from_path(TEST_SQL / "ops.sql", "asyncpg")


@pytest.fixture
def chatd(database_url, config, db):
    """`python -m chatd ARGS` on the (emptied) test database: (exit code, stdout, stderr)."""

    async def run(*args: str) -> tuple[int, str, str]:
        env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8",
               "DATABASE_URL": database_url, "SECRET_KEY": config.secret_key}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "chatd", *args, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(), 60)
        return process.returncode, out.decode(), err.decode()

    return run


async def test_seed_run_twice_leaves_three_servers_and_each_user_a_member_once(chatd, db, ops_queries, alice, bob):
    first = await chatd("seed")
    second = await chatd("seed")

    assert first == (0, "server 'chatd Community': 3 channels (+3), 2 members (+2)\n"
                        "server 'Gaming': 3 channels (+3), 2 members (+2)\n"
                        "server 'Study Group': 3 channels (+3), 2 members (+2)\n", "")
    assert second == (0, "server 'chatd Community': 3 channels (+0), 2 members (+0)\n"
                         "server 'Gaming': 3 channels (+0), 2 members (+0)\n"
                         "server 'Study Group': 3 channels (+0), 2 members (+0)\n", "")
    assert [tuple(r) async for r in ops_queries.list_server_channels(db)] == SEEDED_CHANNELS
    assert [tuple(r) async for r in ops_queries.list_memberships_by_name(db)] == [
        (server, name, role) for server in ("Gaming", "Study Group", "chatd Community")
        for name, role in (("alice", "ADMIN"), ("bob", "MEMBER"))
    ]


async def test_a_user_registered_after_the_seed_joins_on_the_next_run(chatd, db, ops_queries, alice, make_user):
    await chatd("seed")
    await make_user("dave")

    code, out, _ = await chatd("seed")

    assert (code, out.count("2 members (+1)")) == (0, 3)
    assert [tuple(r) async for r in ops_queries.list_memberships_by_name(db)][:2] == [
        ("Gaming", "alice", "ADMIN"), ("Gaming", "dave", "MEMBER")]


async def test_the_seed_neither_gives_servers_to_nor_adds_a_deleted_account(chatd, client, db, ops_queries, alice, bob):
    resp = await client.delete("/auth/me", json={"password": PASSWORD}, headers=alice.auth)  # the oldest account
    assert resp.status == 204

    code, out, _ = await chatd("seed")

    assert (code, out.count("1 members (+1)")) == (0, 3)
    assert [tuple(r) async for r in ops_queries.list_memberships_by_name(db)] == [
        (server, "bob", "ADMIN") for server in ("Gaming", "Study Group", "chatd Community")]


async def test_seed_demo_users_prints_passwords_they_can_log_in_with(chatd, client):
    code, out, err = await chatd("seed", "--demo-users", "2")

    assert (code, err) == (0, "")
    users = re.findall(r"^demo user (demo_[0-9a-f]{6}) password (\S{16})$", out, re.MULTILINE)
    assert len(users) == 2
    assert out.count("3 channels (+3), 2 members (+2)\n") == 3
    for username, password in users:
        resp = await client.post("/auth/login", json={"username": username, "password": password})
        assert resp.status == 200


async def test_seed_with_no_users_exits_1_with_one_line(chatd):
    assert await chatd("seed") == (
        1, "", "chatd: no users yet: register one first, or pass --demo-users N\n")


async def test_seed_rejects_a_negative_demo_user_count(chatd):
    code, out, err = await chatd("seed", "--demo-users", "-1")
    assert (code, out) == (2, "")
    assert err.endswith("chatd seed: error: argument --demo-users: '-1' is not a whole number of 0 or more\n")


def test_stats_runs_every_query_in_monitoring_sql():
    assert sorted(QUERIES) == sorted(n for n in monitoring_queries().available_queries if not n.endswith("_cursor"))


async def populated(chatd, db, test_queries, ops_queries, alice, bob) -> None:
    """`chatd seed`, then 3 messages from alice in #general and 2 from bob in Gaming's #looking-for-group."""
    await chatd("seed")
    now = datetime.now(timezone.utc)
    for server, channel, person, n in (("chatd Community", "general", alice, 3),
                                       ("Gaming", "looking-for-group", bob, 2)):
        row = await ops_queries.get_channel_by_name(db, server=server, channel=channel)
        await test_queries.insert_messages(db, channel_id=row["id"], user_id=person.id, n=n, newest=now)


async def test_stats_json_answers_the_product_specs_monitoring_questions(chatd, db, test_queries, ops_queries,
                                                                          alice, bob):
    await populated(chatd, db, test_queries, ops_queries, alice, bob)

    code, out, err = await chatd("stats", "--json")

    assert (code, err) == (0, "")
    stats = json.loads(out)
    assert list(stats) == QUERIES
    assert stats["count_messages"] == [{"count": 5}]
    assert sorted(stats["count_messages_per_channel"], key=lambda r: r["name"]) == [
        {"name": "Lounge", "message_count": 0}, {"name": "Squad", "message_count": 0},
        {"name": "Study Room", "message_count": 0}, {"name": "announcements", "message_count": 0},
        {"name": "general", "message_count": 3}, {"name": "homework-help", "message_count": 0},
        {"name": "looking-for-group", "message_count": 2},
    ]
    assert sorted(r["username"] for r in stats["list_active_users"]) == ["alice", "bob"]
    assert stats["list_chatd_nodes"] == []
    assert stats["list_busiest_channels"] == [
        {"server": "chatd Community", "channel": "general", "messages": 3},
        {"server": "Gaming", "channel": "looking-for-group", "messages": 2},
    ]
    assert stats["list_largest_servers"] == [
        {"server": "Gaming", "members": 2}, {"server": "Study Group", "members": 2},
        {"server": "chatd Community", "members": 2},
    ]
    assert {r["table_name"] for r in stats["list_table_sizes"]} >= {
        "users", "chatserver", "chatchannel", "chatmessage", "servermembership", "chatd_node"}
    assert {"ix_chatmessage_created_at", "chatmessage_pkey"} <= {r["index_name"] for r in stats["list_index_sizes"]}


async def test_stats_prints_each_query_as_a_titled_table(chatd, db, test_queries, ops_queries, alice, bob):
    await populated(chatd, db, test_queries, ops_queries, alice, bob)

    code, out, err = await chatd("stats")

    assert (code, err) == (0, "")
    assert out.startswith("Total messages\ncount\n-----\n5\n\nMessages per channel\n")
    assert ("Busiest channels in the last hour (an index range on chatmessage.created_at)\n"
            "server           channel            messages\n"
            "---------------  -----------------  --------\n"
            "chatd Community  general            3\n"
            "Gaming           looking-for-group  2\n") in out
    assert ("Running chatd processes and their WebSocket connections (each refreshes its row every 10 s)\n"
            "(no rows)\n") in out


@pytest.mark.parametrize(("command", "option"), [
    ("seed", r"--demo-users N\s+first create N users with random passwords, printed once"),
    ("stats", r"--json\s+one JSON object, for scripts"),
])
async def test_each_subcommand_explains_its_options(chatd, command, option):
    code, out, err = await chatd(command, "--help")
    assert (code, err) == (0, "")
    assert out.startswith(f"usage: chatd {command} [-h]")
    assert re.search(rf"^\s+{option}$", out, re.MULTILINE)
