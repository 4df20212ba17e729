"""Read state across two real chatd processes: counts stay exact while sends, deletions (single
and bulk) and acks race on both, and read_state_updated reaches the reader's sockets on either."""

from __future__ import annotations

import asyncio
import random

from tests.test_gateway_processes import collect, make_server, post, ws_connect


async def unreads(http, chatd, person, channel_id) -> dict:
    async with http.get(chatd.url + "/chat/unreads", headers=person.auth) as resp:
        assert resp.status == 200
        return {entry["channel_id"]: entry for entry in await resp.json()}[channel_id]


async def test_counts_are_exact_after_concurrent_sends_deletes_and_acks_on_two_processes(
        start, http, alice, bob, carol, db, test_queries):
    one, two = await start(), await start()
    server_id, channel_id = await make_server(http, one, alice, bob, carol)
    channel = f"/chat/servers/{server_id}/channels/{channel_id}"
    rng = random.Random(17)
    sent: list[dict] = []
    acked: list[int] = []
    ws = {chatd: await ws_connect(http, chatd, bob) for chatd in (one, two)}

    async def sender(person, count):
        for i in range(count):
            sent.append(await post(http, rng.choice((one, two)), person, server_id, channel_id, f"{person.name}-{i}"))

    async def deleter():
        for _ in range(10):
            await asyncio.sleep(0.02)
            mine = [m for m in sent if m["user_id"] == str(alice.id)]
            chatd = rng.choice((one, two))
            if rng.random() < 0.5 and mine:
                async with http.delete(f"{chatd.url}{channel}/messages/{rng.choice(mine)['id']}",
                                       headers=alice.auth) as resp:
                    assert resp.status in (204, 404)  # 404: deleted already
            elif len(sent) > 3:
                ids = list({m["id"] for m in rng.sample(sent, 3)})
                async with http.post(f"{chatd.url}{channel}/messages/bulk-delete", json={"ids": ids},
                                     headers=alice.auth) as resp:
                    assert resp.status == 204

    async def acker():
        for i in range(20):
            await asyncio.sleep(0.01)
            if not sent:
                continue
            seq = rng.randint(1, max(m["seq"] for m in sent))
            chatd = rng.choice((one, two))
            if i % 2:
                await ws[chatd].send_json({"type": "ack", "serverId": server_id, "channelId": channel_id, "seq": seq})
            else:
                async with http.post(f"{chatd.url}{channel}/ack", json={"seq": seq}, headers=bob.auth) as resp:
                    assert resp.status == 200
            acked.append(seq)

    async def reader():  # each GET keeps what it counted (migration 0032), racing the writers
        for _ in range(30):
            await unreads(http, rng.choice((one, two)), bob, channel_id)

    await asyncio.gather(sender(alice, 40), sender(carol, 40), sender(bob, 10), deleter(), acker(), reader())
    bob_last = max(m["seq"] for m in sent if m["user_id"] == str(bob.id))
    pointer = max(acked + [bob_last])
    async with asyncio.timeout(10):  # the acks sent as frames are answered by no one: wait for the last
        while (await unreads(http, one, bob, channel_id))["last_read_seq"] != pointer:
            await asyncio.sleep(0.05)
    expected = await test_queries.count_unread_directly(db, user_id=bob.id, channel_id=channel_id, after_seq=pointer)
    for chatd in (one, two, one):  # counted afresh or kept, then read from what was kept
        entry = await unreads(http, chatd, bob, channel_id)
        assert (entry["last_read_seq"], entry["last_seq"], entry["unread_count"]) == (pointer, len(sent), expected)
    # alice's own pointer is her last message; the unread after it are the others', not deleted.
    alice_last = max(m["seq"] for m in sent if m["user_id"] == str(alice.id))
    entry = await unreads(http, two, alice, channel_id)
    assert entry["unread_count"] == await test_queries.count_unread_directly(db, user_id=alice.id,
                                                                             channel_id=channel_id,
                                                                             after_seq=alice_last)
    assert len([row async for row in test_queries.read_state_rows(db)]) == 3  # a row per reader, whatever was read


async def test_read_state_updated_reaches_the_readers_sockets_on_both_processes(start, http, alice, bob):
    one, two = await start(), await start()
    server_id, channel_id = await make_server(http, one, alice, bob)
    for i in range(3):
        await post(http, one, alice, server_id, channel_id, f"m{i}")
    here, there = await ws_connect(http, one, bob), await ws_connect(http, two, bob)
    await here.send_json({"type": "ack", "serverId": server_id, "channelId": channel_id, "seq": 2})
    [event] = await collect(there, "read_state_updated", 1)
    assert event == {"type": "read_state_updated", "serverId": server_id, "channelId": channel_id,
                     "lastReadSeq": 2, "unreadCount": 1, "mentionCount": 0}
    async with http.post(f"{two.url}/chat/servers/{server_id}/channels/{channel_id}/ack", json={"seq": 3},
                         headers=bob.auth) as resp:
        assert resp.status == 200
    # The acking socket heard nothing of its own ack: the next event it gets is the REST ack's.
    for ws in (here, there):
        [event] = await collect(ws, "read_state_updated", 1)
        assert (event["lastReadSeq"], event["unreadCount"]) == (3, 0)
