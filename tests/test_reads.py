"""Read state: acks, "mark unread", exact unread and mention counts, read_state_updated and the
unreads in `connected`."""

from __future__ import annotations

from datetime import datetime, timezone
from uuid import UUID

import pytest

from tests.test_explain import explain, nodes
from tests.test_gateway import connect, next_event, no_event


async def post(client, server, person, text: str, channel: str | None = None) -> dict:
    resp = await client.post(f"{server.url}/channels/{channel or server.general}/messages", json={"text": text},
                             headers=person.auth)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def ack(client, server, person, seq, channel: str | None = None):
    return await client.post(f"{server.url}/channels/{channel or server.general}/ack", json={"seq": seq},
                             headers=person.auth)


async def unreads(client, person) -> dict[str, dict]:
    resp = await client.get("/chat/unreads", headers=person.auth)
    assert resp.status == 200
    return {entry["channel_id"]: entry for entry in await resp.json()}


async def test_an_ack_moves_the_pointer_forward_only_and_answers_the_counts(client, server, alice, bob, add_member):
    await add_member(bob)
    for i in range(5):
        await post(client, server, alice, f"m{i}")
    resp = await ack(client, server, bob, 3)
    assert resp.status == 200
    assert await resp.json() == {"server_id": server.id, "channel_id": server.general, "last_read_seq": 3,
                                 "last_seq": 5, "unread_count": 2, "mention_count": 0}
    older = await (await ack(client, server, bob, 1)).json()
    assert (older["last_read_seq"], older["unread_count"]) == (3, 2)


async def test_mark_unread_moves_the_pointer_back(client, server, alice, bob, add_member):
    await add_member(bob)
    for i in range(4):
        await post(client, server, alice, f"m{i}")
    await ack(client, server, bob, 4)
    resp = await client.put(f"{server.url}/channels/{server.general}/read-state", json={"last_read_seq": 1},
                            headers=bob.auth)
    assert resp.status == 200
    body = await resp.json()
    assert (body["last_read_seq"], body["unread_count"]) == (1, 3)
    assert (await unreads(client, bob))[server.general]["unread_count"] == 3


async def test_unreads_lists_every_channel_read_and_voice_channels_not(client, server, alice, bob, add_member):
    await add_member(bob)
    news = await (await client.post(f"{server.url}/channels", json={"name": "news"}, headers=alice.auth)).json()
    await client.post(f"{server.url}/channels", json={"name": "talk", "type": "voice"}, headers=alice.auth)
    await post(client, server, alice, "one", news["id"])
    await post(client, server, alice, "two", news["id"])
    got = await unreads(client, bob)
    assert got == {
        server.general: {"server_id": server.id, "channel_id": server.general, "last_read_seq": 0, "last_seq": 0,
                         "unread_count": 0, "mention_count": 0},
        news["id"]: {"server_id": server.id, "channel_id": news["id"], "last_read_seq": 0, "last_seq": 2,
                     "unread_count": 2, "mention_count": 0},
    }


async def test_a_new_member_counts_from_joining_not_from_the_first_message(client, server, alice, bob, add_member,
                                                                           db, test_queries):
    await test_queries.insert_messages(db, channel_id=server.general, user_id=alice.id, n=1000,
                                       newest=datetime.now(timezone.utc))
    await add_member(bob)
    await post(client, server, alice, "after")
    entry = (await unreads(client, bob))[server.general]
    assert (entry["last_read_seq"], entry["last_seq"], entry["unread_count"]) == (1000, 1001, 1)


async def test_rejoining_counts_from_the_new_join_not_the_old_pointer(client, server, alice, bob, add_member):
    await add_member(bob)
    await post(client, server, alice, "m1")
    await ack(client, server, bob, 1)
    resp = await client.delete(f"{server.url}/members/{bob.id}", headers=bob.auth)
    assert resp.status == 204
    for i in range(3):
        await post(client, server, alice, f"while away {i}")
    await add_member(bob)
    await post(client, server, alice, "back")
    entry = (await unreads(client, bob))[server.general]
    assert (entry["last_read_seq"], entry["unread_count"]) == (4, 1)


async def test_own_messages_do_not_count_and_sending_moves_the_own_pointer(client, server, alice, bob, add_member):
    await add_member(bob)
    await post(client, server, alice, "a1")
    await post(client, server, bob, "b1")
    await post(client, server, alice, "a2")
    entry = (await unreads(client, bob))[server.general]
    assert (entry["last_read_seq"], entry["unread_count"]) == (2, 1)
    mine = (await unreads(client, alice))[server.general]
    assert (mine["last_read_seq"], mine["unread_count"]) == (3, 0)
    # Marked unread back before bob's message: only alice's own messages above it, none counted.
    await client.put(f"{server.url}/channels/{server.general}/read-state", json={"last_read_seq": 0},
                     headers=alice.auth)
    assert (await unreads(client, alice))[server.general]["unread_count"] == 1


async def test_deleted_messages_do_not_count_single_or_bulk(client, server, alice, bob, carol, add_member):
    await add_member(bob)
    await add_member(carol)
    sent = [await post(client, server, alice, f"m{i}") for i in range(6)]
    await post(client, server, carol, "carol's")
    own = await post(client, server, bob, "bob's")
    await client.put(f"{server.url}/channels/{server.general}/read-state", json={"last_read_seq": 0},
                     headers=bob.auth)
    assert (await unreads(client, bob))[server.general]["unread_count"] == 7
    resp = await client.delete(f"{server.url}/channels/{server.general}/messages/{sent[0]['id']}", headers=alice.auth)
    assert resp.status == 204
    resp = await client.post(f"{server.url}/channels/{server.general}/messages/bulk-delete",
                             json={"ids": [sent[1]["id"], sent[2]["id"], own["id"]]}, headers=alice.auth)
    assert resp.status == 204
    assert (await unreads(client, bob))[server.general]["unread_count"] == 4


async def test_mention_counts_read_direct_mentions_and_everyone(client, server, alice, bob, carol, add_member, db,
                                                                test_queries):
    """Mentions are written by the send path in the next part of issue 17; here, directly."""
    await add_member(bob)
    await add_member(carol)
    sent = [await post(client, server, alice, f"m{i}") for i in range(5)]
    from_bob = await post(client, server, bob, "@everyone from bob")
    for seq in (1, 3):
        await test_queries.insert_mention(db, channel_id=server.general, seq=seq, user_id=bob.id)
    await test_queries.insert_mention(db, channel_id=server.general, seq=2, user_id=carol.id)
    for seq in (3, 4, from_bob["seq"]):  # 3 mentions bob directly too: one mention, not two
        await test_queries.mark_mention_everyone(db, channel_id=server.general, seq=seq)
    await client.put(f"{server.url}/channels/{server.general}/read-state", json={"last_read_seq": 0},
                     headers=bob.auth)
    assert (await unreads(client, bob))[server.general]["mention_count"] == 3  # 1, 3, 4; not his own
    assert (await unreads(client, carol))[server.general]["mention_count"] == 4  # 2, 3, 4 and bob's
    body = await (await ack(client, server, bob, 2)).json()
    assert (body["unread_count"], body["mention_count"]) == (3, 2)  # 3, 4, 5 unread; 3, 4 mention him
    resp = await client.delete(f"{server.url}/channels/{server.general}/messages/{sent[3]['id']}", headers=alice.auth)
    assert resp.status == 204
    assert (await unreads(client, bob))[server.general]["mention_count"] == 1


async def test_a_message_that_is_several_things_at_once_counts_once(client, server, alice, bob, carol, add_member,
                                                                   db, test_queries):
    """The counts merge the reader's own, the deleted and @everyone, and the direct mentions by
    seq (migration 0028): a message in more than one of them is still one message."""
    await add_member(bob)
    await add_member(carol)
    texts = {1: (alice, "mentions bob"), 2: (alice, "mentions bob, deleted"), 3: (bob, "mentions himself"),
             4: (alice, "@everyone and bob"), 5: (bob, "his @everyone"), 6: (alice, "@everyone and bob, deleted"),
             7: (bob, "his own, deleted"), 8: (carol, "plain")}
    sent = {seq: await post(client, server, person, text) for seq, (person, text) in texts.items()}
    assert [sent[seq]["seq"] for seq in texts] == list(texts)
    for seq in (1, 2, 3, 4, 6):
        await test_queries.insert_mention(db, channel_id=server.general, seq=seq, user_id=bob.id)
    for seq in (4, 5, 6):
        await test_queries.mark_mention_everyone(db, channel_id=server.general, seq=seq)
    for seq, person in ((2, alice), (6, alice), (7, bob)):
        resp = await client.delete(f"{server.url}/channels/{server.general}/messages/{sent[seq]['id']}",
                                   headers=person.auth)
        assert resp.status == 204
    for person in (bob, carol):
        resp = await client.put(f"{server.url}/channels/{server.general}/read-state", json={"last_read_seq": 0},
                                headers=person.auth)
        assert resp.status == 200
    entry = (await unreads(client, bob))[server.general]
    assert (entry["unread_count"], entry["mention_count"]) == (3, 2)  # 1, 4 and 8; 1 and 4 mention him
    entry = (await unreads(client, carol))[server.general]
    assert (entry["unread_count"], entry["mention_count"]) == (4, 2)  # 1, 3, 4, 5; @everyone in 4 and 5
    body = await (await ack(client, server, bob, 4)).json()
    assert (body["unread_count"], body["mention_count"]) == (1, 0)  # 8


async def test_marking_100000_unread_messages_read_writes_one_row(client, server, alice, bob, add_member, db,
                                                                  test_queries):
    await add_member(bob)
    await test_queries.insert_messages(db, channel_id=server.general, user_id=alice.id, n=100_000,
                                       newest=datetime.now(timezone.utc))
    await client.put(f"{server.url}/channels/{server.general}/read-state", json={"last_read_seq": 0},
                     headers=bob.auth)
    assert (await unreads(client, bob))[server.general]["unread_count"] == 100_000
    before = await test_queries.count_message_rows(db)
    body = await (await ack(client, server, bob, 100_000)).json()
    assert body["unread_count"] == 0
    after = await test_queries.count_message_rows(db)
    assert dict(after) == dict(before)  # one read_state row, updated in place; nothing per message
    assert [tuple(r) async for r in test_queries.read_state_rows(db)] == [(bob.id, UUID(server.general), 100_000)]


async def test_kept_counts_are_read_until_the_channel_or_the_pointer_changes(client, server, alice, bob, carol,
                                                                            add_member, db, test_queries):
    """GET /chat/unreads keeps what it counted (migration 0032) and reads it back while the
    channel's event_seq and the reader's pointer are those it was counted at. Every kind of
    change makes it count afresh, and what it answers always equals counting afresh."""
    await add_member(bob)
    await add_member(carol)
    channel = f"{server.url}/channels/{server.general}"
    sent = [await post(client, server, alice, f"m{i}") for i in range(6)]
    await client.put(f"{channel}/read-state", json={"last_read_seq": 0}, headers=bob.auth)

    async def kept() -> bool:
        return await test_queries.counts_kept(db, user_id=bob.id, channel_id=server.general)

    async def answered_as_counted_afresh():
        got = {channel_id: (e["unread_count"], e["mention_count"]) for channel_id, e in (await unreads(client, bob)).items()}
        fresh = {str(r["channel_id"]): (r["unread_count"], r["mention_count"])
                 async for r in test_queries.count_unreads_afresh(db, user_id=bob.id)}
        assert got == fresh
        return got[server.general]

    async def request(method, path, person, body=None, status=204):
        resp = await client.request(method, f"{channel}{path}", json=body, headers=person.auth)
        assert resp.status == status, await resp.text()

    assert await answered_as_counted_afresh() == (6, 0)
    assert await kept()
    changes = [
        ("a mention", lambda: post(client, server, alice, f"hi <@{bob.id}>"), (7, 1)),
        ("@everyone", lambda: post(client, server, alice, "@everyone look"), (8, 2)),
        ("a reaction", lambda: request("PUT", f"/messages/{sent[0]['id']}/reactions/%F0%9F%91%8D/@me", carol), (8, 2)),
        ("an edit that mentions", lambda: request("PATCH", f"/messages/{sent[1]['id']}", alice,
                                                  {"text": f"now <@{bob.id}>"}, 200), (8, 3)),
        ("a deletion", lambda: request("DELETE", f"/messages/{sent[1]['id']}", alice), (7, 2)),
        ("a bulk deletion", lambda: request("POST", "/messages/bulk-delete", alice,
                                            {"ids": [sent[2]["id"], sent[3]["id"]]}), (5, 2)),
        ("an ack", lambda: ack(client, server, bob, 7), (1, 1)),
        ("a mark unread", lambda: request("PUT", "/read-state", bob, {"last_read_seq": 0}, 200), (5, 2)),
        ("his own message", lambda: post(client, server, bob, "mine"), (0, 0)),
        ("leaving and joining again", lambda: rejoin(), (1, 0)),
    ]

    async def rejoin():
        resp = await client.delete(f"{server.url}/members/{bob.id}", headers=bob.auth)
        assert resp.status == 204
        await post(client, server, alice, "while away")
        await add_member(bob)
        await post(client, server, alice, "back")

    for name, change, counts in changes:
        await change()
        assert not await kept(), name
        assert await answered_as_counted_afresh() == counts, name
        assert await kept(), name
        assert await answered_as_counted_afresh() == counts, name


async def test_kept_counts_are_read_without_reading_a_message_or_mention(client, server, alice, bob, add_member, db,
                                                                       test_queries):
    await add_member(bob)
    for i in range(3):
        await post(client, server, alice, f"m{i} <@{bob.id}>")
    await client.put(f"{server.url}/channels/{server.general}/read-state", json={"last_read_seq": 0},
                     headers=bob.auth)

    async def messages_read() -> set[str]:
        """The tables of messages and of mentions, where the listing's plan read them."""
        plan = await explain(db, test_queries, "listing_of", analyze=True, user_id=bob.id)
        return {n["Relation Name"] for n in nodes(plan)
                if n.get("Relation Name") in ("chatmessage", "message_mention") and n["Actual Loops"]}

    assert await messages_read() == {"chatmessage", "message_mention"}  # counted
    assert await messages_read() == {"chatmessage", "message_mention"}  # a listing alone keeps nothing
    await unreads(client, bob)  # counted, and kept
    assert await messages_read() == set()  # read from what was kept


# Bad input: each a test.

async def test_an_ack_of_a_channel_you_cannot_read_is_404(client, server, alice, bob):
    await post(client, server, alice, "m")
    resp = await ack(client, server, bob, 1)
    assert resp.status == 404
    assert await resp.json() == {"detail": "channel not found"}


async def test_an_ack_of_an_unknown_channel_is_404(client, server, alice):
    resp = await ack(client, server, alice, 0, channel="00000000-0000-0000-0000-000000000000")
    assert resp.status == 404
    assert await resp.json() == {"detail": "channel not found"}


async def test_a_seq_beyond_the_channels_last_is_400(client, server, alice):
    await post(client, server, alice, "m")
    resp = await ack(client, server, alice, 2)
    assert resp.status == 400
    assert await resp.json() == {"detail": "seq 2 is beyond the channel's last message (1)"}
    resp = await client.put(f"{server.url}/channels/{server.general}/read-state", json={"last_read_seq": 5},
                            headers=alice.auth)
    assert resp.status == 400


@pytest.mark.parametrize("seq", [-1, 1.5, "1", None, 2**63])
async def test_a_negative_or_non_integer_seq_is_400(client, server, alice, seq):
    resp = await ack(client, server, alice, seq)
    assert resp.status == 400
    assert "seq" in (await resp.json())["detail"]


async def test_an_ack_of_a_voice_channel_is_400(client, server, alice):
    voice = await (await client.post(f"{server.url}/channels", json={"name": "v", "type": "voice"},
                                     headers=alice.auth)).json()
    resp = await ack(client, server, alice, 0, channel=voice["id"])
    assert resp.status == 400
    assert await resp.json() == {"detail": "this is a VOICE channel: it has no messages"}


# The gateway.

async def test_read_state_updated_reaches_the_other_sockets_not_the_acking_one(client, server, alice, bob,
                                                                                add_member):
    await add_member(bob)
    for i in range(3):
        await post(client, server, alice, f"m{i}")
    one, two = await connect(client, bob), await connect(client, bob)
    await one.send_json({"type": "ack", "serverId": server.id, "channelId": server.general, "seq": 2})
    event = await next_event(two, "read_state_updated")
    assert event == {"type": "read_state_updated", "serverId": server.id, "channelId": server.general,
                     "lastReadSeq": 2, "unreadCount": 1, "mentionCount": 0}
    await no_event(one, "read_state_updated")
    await ack(client, server, bob, 3)  # over REST: every socket
    for ws in (one, two):
        assert (await next_event(ws, "read_state_updated"))["unreadCount"] == 0
    await no_event(await connect(client, alice), "read_state_updated")


async def test_a_refused_ack_frame_is_an_error_event_and_the_socket_stays_open(client, server, alice, bob):
    ws = await connect(client, bob)
    await ws.send_json({"type": "ack", "serverId": server.id, "channelId": server.general, "seq": 0})
    assert await next_event(ws, "error") == {"type": "error", "message": "channel not found"}
    await ws.send_json({"type": "ack", "serverId": server.id, "channelId": server.general, "seq": -1})
    assert "seq" in (await next_event(ws, "error"))["message"]
    await ws.send_json({"type": "get_servers"})
    assert (await next_event(ws, "servers_data"))["servers"] == {}


async def test_connected_carries_the_channels_with_something_unread(client, server, alice, bob, add_member):
    await add_member(bob)
    news = await (await client.post(f"{server.url}/channels", json={"name": "news"}, headers=alice.auth)).json()
    await post(client, server, alice, "one", news["id"])
    await post(client, server, alice, "two", news["id"])
    await post(client, server, alice, "read")
    await ack(client, server, bob, 1)
    ws = await client.ws_connect("/chat/ws", params={"token": bob.token})
    hello = await ws.receive_json(timeout=5)
    assert hello["unreads"] == [{"serverId": server.id, "channelId": news["id"], "lastReadSeq": 0,
                                 "unreadCount": 2, "mentionCount": 0}]


async def test_a_conversation_has_read_state_like_a_channel(client, server, alice, bob, carol, add_member):
    await add_member(bob)
    await add_member(carol)
    resp = await client.post("/chat/dms", json={"recipient_ids": [str(bob.id)]}, headers=alice.auth)
    dm = (await resp.json())["id"]
    for text in ("one", "two", "three"):
        resp = await client.post(f"/chat/dms/{dm}/messages", json={"text": text}, headers=bob.auth)
        assert resp.status == 201
    state = (await unreads(client, alice))[dm]
    assert (state["server_id"], state["last_read_seq"], state["last_seq"], state["unread_count"]) == (None, 0, 3, 3)
    resp = await client.post(f"/chat/dms/{dm}/ack", json={"seq": 2}, headers=alice.auth)
    assert (resp.status, (await resp.json())["unread_count"]) == (200, 1)
    resp = await client.put(f"/chat/dms/{dm}/read-state", json={"last_read_seq": 0}, headers=alice.auth)
    assert (resp.status, (await resp.json())["unread_count"]) == (200, 3)
    assert (await unreads(client, bob))[dm]["unread_count"] == 0  # his own messages
    resp = await client.post(f"/chat/dms/{dm}/ack", json={"seq": 1}, headers=carol.auth)
    assert (resp.status, await resp.json()) == (404, {"detail": "channel not found"})
    assert dm not in await unreads(client, carol)
