"""/healthz, /readyz and /metrics: what a load balancer and Prometheus see."""

from __future__ import annotations

import asyncio
import time
import warnings
from dataclasses import replace

import aiohttp
import aiosql
import pytest
from prometheus_client.parser import text_string_to_metric_families

from chatd import keys
from chatd.app import create_app
from tests.conftest import TEST_SQL
from tests.processes import ChatdProcess, StalledClient


@pytest.fixture(scope="module")
def ops_queries():
    return aiosql.from_path(TEST_SQL / "ops.sql", "asyncpg")


async def scrape(client) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} from GET /metrics."""
    resp = await client.get("/metrics")
    assert resp.status == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(await resp.text()) for s in family.samples}


async def until_metric(client, name: str, value: float, timeout: float = 5.0) -> float:
    """A socket's server side ends a moment after the client's close returns: nothing to await."""
    deadline = time.monotonic() + timeout
    while (got := (await scrape(client))[(name, ())]) != value and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    return got


async def test_metrics_is_public_prometheus_text(client):
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/plain; version=1.0.0; charset=utf-8"
    assert "# TYPE chatd_messages_accepted_total counter\n" in await resp.text()


async def test_a_websocket_connection_raises_the_gauge_and_closing_it_lowers_it(client, alice):
    assert (await scrape(client))[("chatd_websocket_connections", ())] == 0
    ws = await client.ws_connect("/chat/ws", params={"token": alice.token})
    assert (await ws.receive_json())["type"] == "connected"
    assert (await scrape(client))[("chatd_websocket_connections", ())] == 1
    await ws.close()
    assert await until_metric(client, "chatd_websocket_connections", 0) == 0


async def test_messages_are_counted_by_transport_and_deliveries_by_recipient(client, alice, server):
    sockets = [await client.ws_connect("/chat/ws", params={"token": alice.token}) for _ in range(2)]
    for ws in sockets:
        assert (await ws.receive_json())["type"] == "connected"
    resp = await client.post(f"{server.url}/channels/{server.general}/messages", json={"text": "by rest"},
                             headers=alice.auth)
    assert resp.status == 201
    await sockets[0].send_json({"type": "send_message", "serverId": server.id, "channelId": server.general,
                                "text": "by ws"})
    for ws in sockets:
        assert [(await ws.receive_json())["text"] for _ in range(2)] == ["by rest", "by ws"]
    # The echo travels by NOTIFY and may beat the end of send_message's handling; a socket's
    # frames are handled in order, so this answer means that handling (and its count) is done.
    await sockets[0].send_json({"type": "get_servers"})
    assert (await sockets[0].receive_json())["type"] == "servers_data"

    metrics = await scrape(client)
    assert metrics[("chatd_messages_accepted_total", (("transport", "rest"),))] == 1
    assert metrics[("chatd_messages_accepted_total", (("transport", "ws"),))] == 1
    assert metrics[("chatd_message_deliveries_total", ())] == 4
    assert metrics[("chatd_notification_lag_seconds_count", ())] == 2
    for ws in sockets:
        await ws.close()


async def test_http_durations_are_labelled_by_route_and_status(client, alice):
    await client.get("/healthz")
    await client.get("/chat/servers/not-a-uuid", headers=alice.auth)
    await client.get("/no/such/path")

    metrics = await scrape(client)
    count = "chatd_http_request_duration_seconds_count"
    assert metrics[(count, (("method", "GET"), ("route", "/healthz"), ("status", "200")))] == 1
    assert metrics[(count, (("method", "GET"), ("route", "/chat/servers/{server_id}"), ("status", "404")))] == 1
    assert metrics[(count, (("method", "GET"), ("route", "unmatched"), ("status", "404")))] == 1


async def test_pool_gauges_show_the_pool_and_nothing_checked_out_between_requests(client):
    metrics = await scrape(client)
    assert metrics[("chatd_db_pool_size", ())] == client.app[keys.pool].get_size() >= 1
    assert metrics[("chatd_db_pool_in_use", ())] == 0


async def test_a_socket_whose_queue_fills_is_dropped_and_counted(aiohttp_client, config, db, alice, server):
    client = await aiohttp_client(create_app(replace(config, send_queue_frames=1)))
    stalled = StalledClient(client.server.port, alice.token)
    for _ in range(300):  # ~1 MB of messages: more than its buffers and a queue of 1 hold
        resp = await client.post(f"{server.url}/channels/{server.general}/messages", json={"text": "x" * 3500},
                                 headers=alice.auth)
        assert resp.status == 201
    assert await until_metric(client, "chatd_slow_consumers_dropped_total", 1, timeout=10) == 1
    # chatd runs on this test's event loop: read in a thread so it can flush to us.
    received = await asyncio.to_thread(stalled.read_until_closed, 15)
    assert received.endswith(b"slow consumer: resume to catch up")


async def test_readyz_is_ready_when_the_database_is_migrated_and_the_listener_is_up(client):
    resp = await client.get("/readyz")
    assert (resp.status, await resp.json()) == (200, {"status": "ready"})


async def test_readyz_is_503_naming_a_pending_migration(client, db, ops_queries):
    row = await ops_queries.forget_migration(db, migration_id="0003_chatd_node")
    try:
        resp = await client.get("/readyz")
        assert (resp.status, await resp.json()) == (503, {"detail": "migrations pending: 0003_chatd_node"})
    finally:
        await ops_queries.restore_migration(db, **row)
    assert (await client.get("/readyz")).status == 200


async def readyz(url: str) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http, http.get(url + "/readyz") as resp:
        return resp.status, await resp.json()


async def until_readyz(url: str, status: int, timeout: float = 20.0) -> tuple[int, dict]:
    deadline = time.monotonic() + timeout
    while (got := await readyz(url))[0] != status and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return got


async def test_readyz_flips_to_503_while_the_database_is_stopped_and_back_when_it_returns(tmp_path):
    import pgserver
    from chatd.store.migrations import apply_migrations

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        postgres = pgserver.get_server(tmp_path / "pg", cleanup_mode="stop")
    url = postgres.get_uri()
    apply_migrations(url)
    chatd = await ChatdProcess(url, "readyz-test-secret-key").start()
    try:
        assert await readyz(chatd.url) == (200, {"status": "ready"})
        postgres.cleanup()
        assert await until_readyz(chatd.url, 503) == (503, {"detail": "database is not answering"})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            postgres = pgserver.get_server(tmp_path / "pg", cleanup_mode="stop")
        assert await until_readyz(chatd.url, 200) == (200, {"status": "ready"})
    finally:
        assert await chatd.stop() == 0
        postgres.cleanup()
