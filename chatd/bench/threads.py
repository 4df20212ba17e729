"""The threads phase: posting into a thread that already has many replies against posting into
an empty channel (send→receive, in turn, so both see the same machine), and listing the open
threads of a channel with many threads against one page of history.

A thread's counters are kept by the send statement, never counted, so a reply into a thread of
100,000 costs what one into an empty channel does (target ≤ 1.2x at p99); the listing is a
range of the activity index (target ≤ 2x one history page at p50).
"""

from __future__ import annotations

import asyncio
import time

import aiohttp

from chatd.bench import processes
from chatd.bench.database import Topology
from chatd.bench.stats import quantiles_ms

SEND_TARGET = 1.2
LIST_TARGET = 2.0


async def measure(server: processes.Served, pool, queries, users: Topology, replies: int, threads: int, sends: int,
                  requests: int, progress) -> dict:
    """`users`: two users in one server (chatd.bench.database.populate), the owner and a reader."""
    owner, reader = users.members
    empty = await queries.create_channel(pool, notify_channel="chatd_bench", server_id=owner.server_id,
                                         name="empty", type="TEXT", position=None, category_id=None)
    busy = await queries.create_channel(pool, notify_channel="chatd_bench", server_id=owner.server_id,
                                        name="threads", type="TEXT", position=None, category_id=None)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {owner.token}"}) as http:
        base = f"{server.url}/chat/servers/{owner.server_id}/channels"
        async with http.post(f"{base}/{owner.channel_id}/messages", json={"text": "root"}) as resp:
            root = (await resp.json())["id"]
        async with http.post(f"{base}/{owner.channel_id}/messages/{root}/threads", json={"name": "busy"}) as resp:
            thread = (await resp.json())["id"]
        filled = await queries.bench_fill_thread(pool, server_id=owner.server_id, thread_id=thread,
                                                 user_id=owner.user_id, replies=replies)
        listed = await queries.bench_fill_threads(pool, server_id=owner.server_id, channel_id=busy["id"],
                                                  user_id=owner.user_id, threads=threads)
        await queries.bench_analyze_threads(pool)
        progress(f"a thread of {filled:,} replies; a channel of {listed:,} threads")
        latency = await _send_receive(server, http, owner, reader, {"empty": str(empty["id"]), "thread": thread}, sends)
        pages = await _pages(http, {"threads": f"{base}/{busy['id']}/threads",
                                    "history": f"{base}/{thread}/messages"}, requests)
    out = {
        "replies": filled, "threads": listed, "send_receive_ms": latency, "list_ms": pages,
        "send_ratio": _ratio(latency["thread"]["p99"], latency["empty"]["p99"]),
        "list_ratio": _ratio(pages["threads"]["p50"], pages["history"]["p50"]),
        "send_target": SEND_TARGET, "list_target": LIST_TARGET,
    }
    progress(f"send→receive p99: thread of {filled:,} {latency['thread']['p99']} ms, empty channel "
             f"{latency['empty']['p99']} ms ({out['send_ratio']}x); threads listed p50 {pages['threads']['p50']} ms, "
             f"one history page {pages['history']['p50']} ms ({out['list_ratio']}x)")
    return out


async def _send_receive(server, http, owner, reader, channels: dict[str, str], sends: int) -> dict:
    """One message at a time, into each channel in turn: the time from the send frame to the
    reader's socket receiving it."""
    samples: dict[str, list[float]] = {key: [] for key in channels}
    gateway = server.url.replace("http://", "ws://") + "/chat/ws"
    sender = await http.ws_connect(gateway, params={"token": owner.token})
    async with aiohttp.ClientSession() as other:
        receiver = await other.ws_connect(gateway, params={"token": reader.token})
        for ws in (sender, receiver):
            assert (await ws.receive_json(timeout=10))["type"] == "connected"
        for i in range(sends + 5):
            for key, channel in channels.items():
                nonce = f"{key}-{i}"
                started = time.perf_counter()
                await sender.send_json({"type": "send_message", "serverId": str(owner.server_id),
                                        "channelId": channel, "text": nonce, "nonce": nonce})
                while True:
                    event = await receiver.receive_json(timeout=10)
                    if event.get("nonce") == nonce:
                        break
                if i >= 5:  # after a warm-up
                    samples[key].append(time.perf_counter() - started)
                await asyncio.sleep(0.005)
        await receiver.close()
    await sender.close()
    return {key: quantiles_ms(times) for key, times in samples.items()}


async def _pages(http, urls: dict[str, str], requests: int) -> dict:
    """Each URL in turn, `requests` times after a warm-up: p50/p99."""
    samples: dict[str, list[float]] = {key: [] for key in urls}
    for i in range(requests + 3):
        for key, url in urls.items():
            started = time.perf_counter()
            async with http.get(url) as resp:
                assert resp.status == 200, await resp.text()
                await resp.read()
            if i >= 3:
                samples[key].append(time.perf_counter() - started)
    return {key: quantiles_ms(times) for key, times in samples.items()}


def _ratio(value: float | None, against: float | None) -> float | None:
    return None if not value or not against else round(value / against, 2)
