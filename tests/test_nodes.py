"""chatd_node: each running process keeps its row current and removes it on a clean stop."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time
import uuid

import aiohttp
import aiosql
import pytest

from tests.conftest import TEST_SQL
from tests.processes import ChatdProcess


@pytest.fixture(scope="module")
def ops_queries():
    return aiosql.from_path(TEST_SQL / "ops.sql", "asyncpg")


async def nodes(db, ops_queries) -> list[tuple]:
    return [tuple(r) async for r in ops_queries.list_nodes(db)]


async def until_nodes(db, ops_queries, expected: list[tuple], timeout: float = 5.0) -> list[tuple]:
    """Poll the table (a beat is a row write, with nothing to wait on) until it shows `expected`."""
    deadline = time.monotonic() + timeout
    while (rows := await nodes(db, ops_queries)) != expected and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return rows


async def stats_nodes(env: dict[str, str]) -> list[dict]:
    """The chatd_node rows as `chatd stats --json` shows them."""
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "chatd", "stats", "--json", env=env,
                                                   stdout=asyncio.subprocess.PIPE)
    out, _ = await process.communicate()
    assert process.returncode == 0
    return json.loads(out)["list_chatd_nodes"]


async def test_two_processes_each_keep_a_row_with_their_connections_and_remove_it_on_stop(
        database_url, config, db, ops_queries, alice):
    host = socket.gethostname()
    one, two = [ChatdProcess(database_url, config.secret_key, CHATD_NODE_INTERVAL="1") for _ in range(2)]
    await asyncio.gather(one.start(), two.start())
    try:
        pids = sorted([one.process.pid, two.process.pid])
        assert await nodes(db, ops_queries) == [(host, pid, 0, 0) for pid in pids]
        assert [(n["host"], n["pid"], n["connections"], n["users"]) for n in await stats_nodes(one.env)] == [
            (host, pid, 0, 0) for pid in pids]

        async with aiohttp.ClientSession() as http:
            sockets = [await http.ws_connect(two.ws_url, params={"token": alice.token}) for _ in range(2)]
            expected = sorted([(host, one.process.pid, 0, 0), (host, two.process.pid, 2, 1)], key=lambda r: r[1])
            assert await until_nodes(db, ops_queries, expected) == expected
            for ws in sockets:
                await ws.close()
        expected = [(host, pid, 0, 0) for pid in pids]
        assert await until_nodes(db, ops_queries, expected) == expected

        assert await one.stop() == 0
        assert await nodes(db, ops_queries) == [(host, two.process.pid, 0, 0)]
    finally:
        await asyncio.gather(one.stop(), two.stop())
    assert await nodes(db, ops_queries) == []


async def test_a_row_left_by_a_killed_process_is_removed_by_a_live_one(database_url, config, db, ops_queries):
    await ops_queries.insert_stale_node(db, node_id=uuid.uuid4())
    chatd = await ChatdProcess(database_url, config.secret_key).start()
    try:
        assert await nodes(db, ops_queries) == [(socket.gethostname(), chatd.process.pid, 0, 0)]
    finally:
        await chatd.stop()
