"""Nonces over time: a resent nonce answers with its message for 5 minutes after it, then
stores a new one; deleting a server frees its messages' nonces, and expired claims are swept.
(Concurrent senders of one nonce: test_groupcommit and test_gateway_processes.)"""

from __future__ import annotations

from uuid import UUID

from chatd.ops.sweeps import sweep_nonce_claims

FIVE_MINUTES_AGO = 301  # seconds


async def send(client, person, server_id: str, channel_id: str, text: str, nonce: str) -> dict:
    resp = await client.post(f"/chat/servers/{server_id}/channels/{channel_id}/messages",
                             json={"text": text, "nonce": nonce}, headers=person.auth)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def claims(db, test_queries) -> list[dict]:
    return [dict(row) async for row in test_queries.list_nonce_claims(db)]


async def test_a_nonce_repeats_for_5_minutes_and_then_stores_a_new_message(client, db, test_queries, alice, server):
    first = await send(client, alice, server.id, server.general, "first", "n-1")
    assert (await send(client, alice, server.id, server.general, "first, resent", "n-1"))["id"] == first["id"]
    await test_queries.age_messages(db, seconds=FIVE_MINUTES_AGO)

    second = await send(client, alice, server.id, server.general, "second", "n-1")
    assert (second["text"], second["seq"]) == ("second", 2)
    assert (await send(client, alice, server.id, server.general, "second, resent", "n-1"))["id"] == second["id"]
    assert await claims(db, test_queries) == [{"nonce": "n-1", "message_id": UUID(second["id"])}]


async def test_a_nonce_whose_message_went_with_its_server_stores_a_new_message(client, db, test_queries, alice,
                                                                                server):
    await send(client, alice, server.id, server.general, "in the old server", "n-1")
    assert (await client.delete(server.url, headers=alice.auth)).status == 204
    assert await claims(db, test_queries) == []

    resp = await client.post("/chat/servers", json={"name": "New"}, headers=alice.auth)
    new_id = (await resp.json())["id"]
    [general] = await (await client.get(f"/chat/servers/{new_id}/channels", headers=alice.auth)).json()
    again = await send(client, alice, new_id, general["id"], "in the new server", "n-1")
    assert (again["text"], again["seq"]) == ("in the new server", 1)


async def test_a_nonce_whose_claim_outlived_its_message_is_refused_as_its_channel_is_until_it_expires(
        client, db, test_queries, alice, server):
    sent = await send(client, alice, server.id, server.general, "in a server going away", "n-1")
    await test_queries.delete_server_leaving_claims(db, server_id=server.id)
    assert await claims(db, test_queries) == [{"nonce": "n-1", "message_id": UUID(sent["id"])}]

    resp = await client.post(f"/chat/servers/{server.id}/channels/{server.general}/messages",
                             json={"text": "in a server going away", "nonce": "n-1"}, headers=alice.auth)
    assert resp.status == 404
    assert await resp.json() == {"detail": "server not found"}
    await test_queries.age_messages(db, seconds=FIVE_MINUTES_AGO)
    resp = await client.post("/chat/servers", json={"name": "New"}, headers=alice.auth)
    new_id = (await resp.json())["id"]
    [general] = await (await client.get(f"/chat/servers/{new_id}/channels", headers=alice.auth)).json()
    again = await send(client, alice, new_id, general["id"], "in the new server", "n-1")
    assert (again["text"], again["seq"]) == ("in the new server", 1)


async def test_the_sweep_deletes_expired_claims_and_keeps_recent_ones(client, db, test_queries, alice, server):
    await send(client, alice, server.id, server.general, "old", "n-old")
    await test_queries.age_messages(db, seconds=FIVE_MINUTES_AGO)
    recent = await send(client, alice, server.id, server.general, "recent", "n-recent")
    await sweep_nonce_claims(client.app)
    assert await claims(db, test_queries) == [{"nonce": "n-recent", "message_id": UUID(recent["id"])}]
