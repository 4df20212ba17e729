"""Delivery across real chatd processes sharing one PostgreSQL: nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import contextlib
import time
import aiohttp

from tests.processes import StalledClient


async def make_server(http, chatd, owner, *members) -> tuple[str, str]:
    """A server owned by `owner` with `members` added; returns (server id, general channel id)."""
    async with http.post(chatd.url + "/chat/servers", json={"name": "Guild"}, headers=owner.auth) as resp:
        server_id = (await resp.json())["id"]
    for person in members:
        async with http.post(f"{chatd.url}/chat/servers/{server_id}/members", json={"username": person.name},
                             headers=owner.auth) as resp:
            assert resp.status == 201
    async with http.get(f"{chatd.url}/chat/servers/{server_id}/channels", headers=owner.auth) as resp:
        return server_id, (await resp.json())[0]["id"]


async def ws_connect(http, chatd, person):
    ws = await http.ws_connect(chatd.ws_url, params={"token": person.token})
    assert (await ws.receive_json(timeout=5))["type"] == "connected"
    return ws


async def collect(ws, kind: str, count: int, timeout: float = 30.0) -> list[dict]:
    got: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        event = await ws.receive_json(timeout=max(0.01, deadline - time.monotonic()))
        if event["type"] == kind:
            got.append(event)
    return got


async def post(http, chatd, person, server_id, channel_id, text) -> dict:
    async with http.post(f"{chatd.url}/chat/servers/{server_id}/channels/{channel_id}/messages",
                         json={"text": text}, headers=person.auth) as resp:
        assert resp.status == 201, await resp.text()
        return await resp.json()


async def test_messages_and_typing_cross_between_two_processes(start, http, alice, bob):
    one, two = await start(), await start()
    server_id, channel_id = await make_server(http, one, alice, bob)
    a, b = await ws_connect(http, one, alice), await ws_connect(http, two, bob)
    await a.send_json({"type": "send_message", "serverId": server_id, "channelId": channel_id, "text": "hi bob"})
    [received] = await collect(b, "new_message", 1)
    assert (received["text"], received["user"], received["seq"]) == ("hi bob", "alice", 1)
    await b.send_json({"type": "typing_start", "serverId": server_id, "channelId": channel_id})
    [typing] = await collect(a, "typing_start", 1)
    assert typing["username"] == "bob"


async def test_resume_after_concurrent_writers_on_both_processes_misses_nothing(start, http, alice, bob, db,
                                                                                 test_queries):
    one, two = await start(), await start()
    server_id, channel_id = await make_server(http, one, alice, bob)
    b = await ws_connect(http, two, bob)
    await post(http, one, alice, server_id, channel_id, "before")
    [first] = await collect(b, "new_message", 1)
    await b.close()

    async def writer(chatd, person, tag):
        for i in range(50):
            await post(http, chatd, person, server_id, channel_id, f"{tag}-{i}")

    await asyncio.gather(writer(one, alice, "a1"), writer(one, bob, "b1"), writer(two, alice, "a2"),
                         writer(two, bob, "b2"))
    seqs = [row["seq"] async for row in test_queries.channel_seqs(db, channel_id=channel_id)]
    assert seqs == list(range(1, 202))  # no gaps, whatever process wrote

    b = await ws_connect(http, one, bob)
    await b.send_json({"type": "resume", "serverId": server_id, "channelId": channel_id, "afterSeq": first["seq"]})
    await post(http, two, alice, server_id, channel_id, "live")
    missed = await collect(b, "new_message", 201)
    assert [m["seq"] for m in missed] == list(range(2, 203))
    assert missed[-1]["text"] == "live"
    texts = [m["text"] for m in missed[:-1]]
    assert sorted(texts) == sorted(f"{t}-{i}" for t in ("a1", "b1", "a2", "b2") for i in range(50))


async def test_a_nonce_sent_to_two_processes_at_once_is_stored_once_and_both_get_that_message(
        start, http, alice, db, test_queries):
    one, two = await start(), await start()
    server_id, channel_id = await make_server(http, one, alice)
    ws = await ws_connect(http, one, alice)
    nonces = [f"n-{i}" for i in range(50)]

    async def over_rest(nonce: str) -> dict:
        async with http.post(f"{two.url}/chat/servers/{server_id}/channels/{channel_id}/messages",
                             json={"text": nonce, "nonce": nonce}, headers=alice.auth) as resp:
            assert resp.status == 201, await resp.text()
            return await resp.json()

    answered = {}
    for nonce in nonces:  # each nonce over WebSocket to one and over REST to two, at once
        _, answered[nonce] = await asyncio.gather(
            ws.send_json({"type": "send_message", "serverId": server_id, "channelId": channel_id,
                          "text": nonce, "nonce": nonce}),
            over_rest(nonce))
    # The socket hears each stored message (whoever stored it), and its own answer when that
    # was the other's message: every new_message of a nonce is that one message.
    heard: dict[str, set] = {}
    with contextlib.suppress(asyncio.TimeoutError):
        while True:  # until the socket has been quiet for 2 s
            [event] = await collect(ws, "new_message", 1, timeout=2.0)
            heard.setdefault(event["nonce"], set()).add((event["id"], event["seq"]))
    assert heard == {nonce: {(answered[nonce]["id"], answered[nonce]["seq"])} for nonce in nonces}
    counts = [dict(row) async for row in test_queries.count_messages_by_nonce(db, channel_id=channel_id)]
    assert sorted(counts, key=lambda row: int(row["nonce"][2:])) == [{"nonce": n, "messages": 1} for n in nonces]


async def test_clients_lose_nothing_when_the_listening_connection_is_killed(start, http, alice, bob, db,
                                                                            test_queries):
    one, two = await start(), await start()
    server_id, channel_id = await make_server(http, one, alice, bob)
    listeners = [await ws_connect(http, one, bob), await ws_connect(http, two, bob)]
    sent: list[str] = []

    async def keep_sending():
        for i in range(60):
            sent.append((await post(http, one, alice, server_id, channel_id, f"m{i}"))["id"])
            await asyncio.sleep(0.02)

    sender = asyncio.create_task(keep_sending())
    await asyncio.sleep(0.3)
    terminated = [row async for row in test_queries.terminate_listeners(db)]
    assert len(terminated) == 2
    await sender
    for ws in listeners:
        received = await collect(ws, "new_message", 60, timeout=40)
        assert [m["id"] for m in received] == sent
    assert any("event=listen_reconnected" in line for line in one.log + two.log)


async def test_sigterm_during_traffic_exits_0_and_keeps_every_acknowledged_message(start, http, alice, db,
                                                                                   test_queries):
    chatd = await start()
    server_id, channel_id = await make_server(http, chatd, alice)
    acknowledged: list[str] = []

    async def client(n: int):
        ws = await ws_connect(http, chatd, alice)
        for i in range(1000):
            try:
                await ws.send_json({"type": "send_message", "serverId": server_id, "channelId": channel_id,
                                    "text": f"c{n}-{i}", "nonce": f"{n}-{i}"})
                while True:
                    event = await ws.receive_json(timeout=10)
                    if event["type"] == "new_message" and event.get("nonce") == f"{n}-{i}":
                        acknowledged.append(event["id"])
                        break
            except (TypeError, ConnectionError, asyncio.TimeoutError, aiohttp.ClientError):
                return ws.close_code  # receive_json on a CLOSE frame raises TypeError

    clients = [asyncio.create_task(client(n)) for n in range(4)]
    await asyncio.sleep(1.0)
    started = time.monotonic()
    assert await chatd.stop() == 0
    assert time.monotonic() - started < 10
    codes = await asyncio.gather(*clients)
    assert set(codes) == {1001}
    assert len(acknowledged) > 10
    assert await test_queries.count_messages_with_ids(db, ids=acknowledged) == len(acknowledged)


async def test_a_client_that_never_reads_does_not_slow_the_others_and_is_closed(start, http, alice, make_user):
    chatd = await start(CHATD_SEND_QUEUE="100")
    readers = [await make_user(f"reader{i}") for i in range(100)]
    staller = await make_user("staller")
    server_id, channel_id = await make_server(http, chatd, alice, staller, *readers)
    # A second server only the staller reads: bulk traffic there fills its buffers quickly
    # without loading the 100 readers (who share this machine's two cores with chatd).
    bulk_server, bulk_channel = await make_server(http, chatd, alice, staller)
    sockets = [await ws_connect(http, chatd, person) for person in readers]

    async def p99_latency(count: int) -> float:
        """Send `count` messages at 10/s; the 99th percentile send-to-receive time over all readers."""
        latencies: list[float] = []

        async def receive(ws):
            for _ in range(count):
                [event] = await collect(ws, "new_message", 1, timeout=30)
                latencies.append(time.time() - float(event["text"]))

        receivers = [asyncio.create_task(receive(ws)) for ws in sockets]
        for _ in range(count):
            await post(http, chatd, alice, server_id, channel_id, str(time.time()))
            await asyncio.sleep(0.1)
        await asyncio.gather(*receivers)
        assert len(latencies) == count * len(sockets)
        return sorted(latencies)[int(len(latencies) * 0.99)]

    async def flood_the_staller():
        for _ in range(250):  # ~900 KB: more than its socket, transport and queue may hold
            await post(http, chatd, alice, bulk_server, bulk_channel, "x" * 3500)

    baseline = await p99_latency(30)
    stalled = StalledClient(chatd.port, staller.token)
    beside_stalled, _ = await asyncio.gather(p99_latency(30), flood_the_staller())
    print(f"p99 delivery latency to 100 readers: {baseline * 1000:.1f} ms alone, "
          f"{beside_stalled * 1000:.1f} ms beside a client that never reads")
    assert beside_stalled < 3 * baseline + 0.25
    assert any("event=slow_consumer" in line for line in chatd.log)
    received = stalled.read_until_closed(timeout=15)
    assert received.endswith(b"\x88\x23\x0f\xa8slow consumer: resume to catch up")  # close frame, 4008


async def test_a_dead_peer_is_dropped_within_two_heartbeats_and_its_typing_cleared(start, http, alice, bob):
    chatd = await start(CHATD_HEARTBEAT="1")
    server_id, channel_id = await make_server(http, chatd, alice, bob)
    watcher = await ws_connect(http, chatd, alice)
    dead = StalledClient(chatd.port, bob.token)  # answers no ping: a peer whose network went away
    dead.send_text(f'{{"type":"typing_start","serverId":"{server_id}","channelId":"{channel_id}"}}')
    await collect(watcher, "typing_start", 1)
    started = time.monotonic()
    [stopped] = await collect(watcher, "typing_stop", 1, timeout=8)  # typing alone would expire after 10 s
    assert stopped["username"] == "bob"
    assert time.monotonic() - started < 3.0
    dead.sock.close()


async def test_logging_out_everywhere_closes_every_socket_of_the_user_on_every_process(start, http, alice, bob):
    one, two = await start(), await start()
    server_id, channel_id = await make_server(http, one, alice, bob)
    alices = [await ws_connect(http, one, alice), await ws_connect(http, two, alice), await ws_connect(http, two, alice)]
    bobs = [await ws_connect(http, one, bob), await ws_connect(http, two, bob)]

    async def closed(ws) -> tuple:
        while (message := await ws.receive(timeout=5)).type == aiohttp.WSMsgType.TEXT:
            pass  # bob's presence (his sockets opened after alice's)
        return message.type, message.data, message.extra, time.monotonic() - started

    started = time.monotonic()
    closes = asyncio.gather(*(closed(ws) for ws in alices))
    async with http.post(one.url + "/auth/logout-all", headers=alice.auth) as resp:
        assert resp.status == 204
    for kind, code, reason, after in await closes:
        assert (kind, code, reason) == (aiohttp.WSMsgType.CLOSE, 4401, "token revoked")
        assert after < 1.0  # the answer itself may come later: it waits for the next whole second
    for chatd in (one, two):
        async with http.get(chatd.url + "/auth/me", headers=alice.auth) as resp:
            assert (resp.status, await resp.json()) == (401, {"detail": "token revoked"})
    await post(http, two, bob, server_id, channel_id, "still here")
    for ws in bobs:
        [received] = await collect(ws, "new_message", 1, timeout=5)
        assert received["text"] == "still here"


async def test_invites_and_joining_by_one_reach_sockets_on_the_other_process(start, http, alice, bob):
    """alice (ADMIN) and bob are connected to one process; everything happens on the other."""
    one, two = await start(), await start()
    server_id, _ = await make_server(http, two, alice)
    a, b = await ws_connect(http, one, alice), await ws_connect(http, one, bob)
    async with http.post(f"{two.url}/chat/servers/{server_id}/invites", json={"max_uses": 1},
                         headers=alice.auth) as resp:
        code = (await resp.json())["code"]
    [created] = await collect(a, "invite_created", 1)
    assert created["invite"]["code"] == code
    async with http.post(f"{two.url}/chat/invites/{code}/accept", headers=bob.auth) as resp:
        assert resp.status == 200
    [joined] = await collect(b, "server_joined", 1)
    assert (joined["server"]["id"], joined["server"]["role"]) == (server_id, "MEMBER")
    [added] = await collect(a, "member_added", 1)
    assert added["userId"] == str(bob.id)
    async with http.put(f"{two.url}/chat/servers/{server_id}/bans/{bob.id}", json={}, headers=alice.auth) as resp:
        assert resp.status == 200
    [removed] = await collect(b, "member_removed", 1)
    assert removed == {"type": "member_removed", "serverId": server_id, "userId": str(bob.id)}


async def test_layout_and_management_events_reach_a_member_on_another_process(start, http, alice, bob):
    one, two = await start(), await start()
    server_id, general = await make_server(http, one, alice, bob)
    b = await ws_connect(http, two, bob)
    base = f"{one.url}/chat/servers/{server_id}"

    async def call(method, path, body=None, status=200):
        async with http.request(method, base + path, json=body, headers=alice.auth) as resp:
            assert resp.status == status, await resp.text()
            return None if status == 204 else await resp.json()

    category = await call("POST", "/categories", {"name": "talk"}, 201)
    assert (await collect(b, "layout_updated", 1))[0]["layout"]["categories"][0]["name"] == "talk"
    layout = await call("GET", "/layout")
    layout["categories"][0]["channel_ids"], layout["uncategorized"] = layout["uncategorized"], []
    answer = await call("PUT", "/layout", layout)
    assert (await collect(b, "layout_updated", 1))[0]["layout"] == answer
    assert answer["categories"][0] == {"id": category["id"], "name": "talk", "position": 0, "channel_ids": [general]}
    channel = await call("PATCH", f"/channels/{general}", {"topic": "hello"})
    assert (await collect(b, "channel_updated", 1))[0]["channel"] == channel
    await call("PATCH", "", {"name": "Renamed"})
    assert (await collect(b, "server_updated", 1))[0]["server"]["name"] == "Renamed"
    await call("DELETE", f"/channels/{general}", status=204)
    assert (await collect(b, "channel_deleted", 1))[0] == {"type": "channel_deleted", "serverId": server_id,
                                                           "channelId": general}
