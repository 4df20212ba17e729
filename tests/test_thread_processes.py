"""Threads across real chatd processes: replies racing on one thread from two processes keep an
exact count, and both processes' clients hear thread_updated with it."""

from __future__ import annotations

import asyncio

from test_gateway_processes import collect, make_server, post, ws_connect


async def test_replies_racing_on_one_thread_from_two_processes_keep_an_exact_count(start, http, alice, bob):
    one, two = await start(), await start()
    server_id, channel_id = await make_server(http, one, alice, bob)
    root = await post(http, one, alice, server_id, channel_id, "root")
    async with http.post(f"{one.url}/chat/servers/{server_id}/channels/{channel_id}/messages/{root['id']}/threads",
                         json={"name": "race"}, headers=alice.auth) as resp:
        assert resp.status == 201
        thread_id = (await resp.json())["id"]
    watchers = [await ws_connect(http, one, alice), await ws_connect(http, two, bob)]

    async def writer(chatd, person, tag):
        for i in range(40):
            await post(http, chatd, person, server_id, thread_id, f"{tag}-{i}")

    await asyncio.gather(writer(one, alice, "a1"), writer(one, bob, "b1"), writer(two, alice, "a2"),
                         writer(two, bob, "b2"))
    async with http.get(f"{two.url}/chat/threads/{thread_id}", headers=bob.auth) as resp:
        thread = await resp.json()
    assert thread["message_count"] == 160
    for ws in watchers:  # the last thread_updated each process delivers carries the final count
        while (await collect(ws, "thread_updated", 1, timeout=5))[0]["messageCount"] != 160:
            pass
    async with http.get(f"{one.url}/chat/servers/{server_id}/channels/{channel_id}/messages",
                        headers=alice.auth) as resp:
        [shown] = await resp.json()
    assert shown["thread"]["message_count"] == 160
