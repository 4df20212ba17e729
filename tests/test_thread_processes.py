"""Threads across real chatd processes: replies (and deletions) racing on one thread from two
processes keep an exact count, and both processes' clients hear thread_updated with it."""

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


async def test_deletions_racing_with_replies_on_two_processes_keep_an_exact_count_and_say_it(start, http, alice,
                                                                                            bob):
    one, two = await start(), await start()
    server_id, channel_id = await make_server(http, one, alice, bob)
    root = await post(http, one, alice, server_id, channel_id, "root")
    async with http.post(f"{one.url}/chat/servers/{server_id}/channels/{channel_id}/messages/{root['id']}/threads",
                         json={"name": "race"}, headers=alice.auth) as resp:
        thread_id = (await resp.json())["id"]
    early = [await post(http, one, bob, server_id, thread_id, f"early-{i}") for i in range(60)]
    watchers = [await ws_connect(http, one, alice), await ws_connect(http, two, bob)]
    messages = f"/chat/servers/{server_id}/channels/{thread_id}/messages"

    async def writer(chatd, person, tag):
        for i in range(20):
            await post(http, chatd, person, server_id, thread_id, f"{tag}-{i}")

    async def one_by_one(chatd, doomed):
        for m in doomed:
            async with http.delete(f"{chatd.url}{messages}/{m['id']}", headers=alice.auth) as resp:
                assert resp.status in (204, 404)  # 404: the other process's bulk deletion took it first

    async def in_bulks(chatd, doomed):
        for k in range(0, len(doomed), 5):
            async with http.post(f"{chatd.url}{messages}/bulk-delete", json={"ids": [m["id"] for m in doomed[k:k + 5]]},
                                 headers=alice.auth) as resp:
                assert resp.status == 204

    # early[20:40] is deleted from both processes at once: each message comes off the count once.
    await asyncio.gather(writer(one, alice, "a"), writer(two, bob, "b"), one_by_one(one, early[:40]),
                         in_bulks(two, early[20:]))
    async with http.get(f"{one.url}{messages}", params={"limit": "100"}, headers=alice.auth) as resp:
        left = await resp.json()
    assert len(left) == 40
    await in_bulks(one, left[:1])  # the last change is a deletion
    async with http.get(f"{two.url}/chat/threads/{thread_id}", headers=bob.auth) as resp:
        assert (await resp.json())["message_count"] == 39
    for ws in watchers:  # the last thread_updated each process delivers carries the final count
        while (await collect(ws, "thread_updated", 1, timeout=5))[0]["messageCount"] != 39:
            pass
