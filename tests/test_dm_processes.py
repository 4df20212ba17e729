"""Conversations across real chatd processes sharing one PostgreSQL: their events reach every
participant's sockets on every process, and a removed participant stops hearing at once."""

from __future__ import annotations

import asyncio

import pytest

from test_gateway_processes import collect, make_server, ws_connect


async def test_dm_events_and_messages_reach_participants_on_both_processes(start, http, alice, bob, carol,
                                                                           make_user):
    dave = await make_user("dave")
    one, two = await start(), await start()
    await make_server(http, one, alice, bob, carol, dave)
    a, b = await ws_connect(http, one, alice), await ws_connect(http, two, bob)
    c, d = await ws_connect(http, two, carol), await ws_connect(http, one, dave)
    async with http.post(one.url + "/chat/dms", json={"recipient_ids": [str(bob.id), str(carol.id)]},
                         headers=alice.auth) as resp:
        assert resp.status == 201
        group = await resp.json()
    for ws in (a, b, c):
        [created] = await collect(ws, "dm_created", 1, timeout=5)
        assert created["dm"] == group
    await b.send_json({"type": "send_message", "channelId": group["id"], "text": "from two"})
    for ws in (a, b, c):
        [message] = await collect(ws, "new_message", 1, timeout=5)
        assert (message["text"], message["serverId"], message["channelId"]) == ("from two", None, group["id"])

    people = f"{two.url}/chat/dms/{group['id']}/recipients"
    async with http.put(f"{people}/{dave.id}", headers=alice.auth) as resp:
        assert resp.status == 204
    for ws in (a, b, c, d):
        [added] = await collect(ws, "dm_recipient_added", 1, timeout=5)
        assert added == {"type": "dm_recipient_added", "dmId": group["id"],
                         "user": {"id": str(dave.id), "username": "dave"}}
    async with http.delete(f"{people}/{carol.id}", headers=alice.auth) as resp:
        assert resp.status == 204
    for ws in (a, b, c, d):
        [removed] = await collect(ws, "dm_recipient_removed", 1, timeout=5)
        assert (removed["dmId"], removed["userId"]) == (group["id"], str(carol.id))
    await d.send_json({"type": "send_message", "channelId": group["id"], "text": "carol is gone"})
    for ws in (a, b, d):
        [message] = await collect(ws, "new_message", 1, timeout=5)
        assert message["text"] == "carol is gone"
    with pytest.raises(asyncio.TimeoutError):
        await collect(c, "new_message", 1, timeout=1)
