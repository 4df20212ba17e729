"""Presence in one chatd process: statuses kept and shown, presence_update exactly once per
socket and change, to those who share a server or a conversation and to nobody else, the
grace after a socket closes, and the REST routes."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import timedelta

import aiosql
import pytest

from chatd.app import create_app
from chatd.config import RateLimit
from tests.conftest import TEST_SQL
from test_gateway import next_event

presence_queries = aiosql.from_path(TEST_SQL / "presence.sql", "asyncpg")


@pytest.fixture
async def short_grace(aiohttp_client, config, db):
    """A chatd whose 10 s grace is shortened, so the tests of what follows it take a second."""
    return await aiohttp_client(create_app(replace(config, presence_grace=timedelta(seconds=0.5))))


async def connected(client, person, **params) -> tuple:
    ws = await client.ws_connect("/chat/ws", params={"token": person.token, **params})
    hello = await ws.receive_json(timeout=5)
    assert hello["type"] == "connected"
    return ws, hello


async def shown(db, person, status: str) -> None:
    """Until others see `person` with this status (their rows are written in batches)."""
    async with asyncio.timeout(5):
        while await presence_queries.shown_status(db, user_id=person.id) != status:
            await asyncio.sleep(0.02)


async def updates(ws, wait: float = 0.7) -> list[dict]:
    """Every presence_update that arrives within `wait` seconds."""
    got = []
    deadline = time.monotonic() + wait
    while True:
        try:
            event = await ws.receive_json(timeout=max(0.01, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            return got
        if event["type"] == "presence_update":
            got.append(event)


async def update_of(ws, person, timeout: float = 5.0) -> dict:
    """The next presence_update about `person` (a user also hears of their own changes)."""
    deadline = time.monotonic() + timeout
    while True:
        event = await next_event(ws, "presence_update", timeout=max(0.01, deadline - time.monotonic()))
        if event["userId"] == str(person.id):
            return event


async def make_server(client, owner, *members) -> str:
    resp = await client.post("/chat/servers", json={"name": "Guild"}, headers=owner.auth)
    server_id = (await resp.json())["id"]
    for person in members:
        resp = await client.post(f"/chat/servers/{server_id}/members", json={"user_id": str(person.id)},
                                 headers=owner.auth)
        assert resp.status == 201
    return server_id


async def test_a_co_member_coming_online_is_announced_and_listed_in_connected(client, alice, bob, server,
                                                                            add_member):
    await add_member(bob)
    a, hello = await connected(client, alice)
    assert hello["status"] == "online" and hello["presences"] == {}
    b, _ = await connected(client, bob)
    assert await update_of(a, bob) == {"type": "presence_update", "userId": str(bob.id), "status": "online"}
    _, again = await connected(client, alice)
    assert again["presences"] == {str(bob.id): "online"}


async def test_a_status_set_reaches_co_members_and_oneself_and_is_kept_across_reconnects(client, alice, bob,
                                                                                        server, add_member):
    await add_member(bob)
    b, _ = await connected(client, bob)
    a, _ = await connected(client, alice)
    await update_of(b, alice)  # alice came online
    await b.send_json({"type": "presence_update", "status": "dnd"})
    assert await update_of(a, bob) == {"type": "presence_update", "userId": str(bob.id), "status": "dnd"}
    assert (await update_of(b, bob))["status"] == "dnd"
    await b.close()
    _, hello = await connected(client, bob)  # within the grace: still dnd, nothing announced
    assert hello["status"] == "dnd"
    assert hello["presences"] == {str(alice.id): "online"}
    assert [u for u in await updates(a) if u["userId"] == str(bob.id)] == []


async def test_invisible_shows_as_offline_to_others_and_as_invisible_to_oneself(client, alice, bob, server,
                                                                              add_member):
    await add_member(bob)
    a, _ = await connected(client, alice)
    b, _ = await connected(client, bob)
    await update_of(a, bob)
    await b.send_json({"type": "presence_update", "status": "invisible"})
    assert (await update_of(a, bob))["status"] == "offline"
    assert (await update_of(b, bob))["status"] == "invisible"
    _, hello = await connected(client, alice)
    assert hello["presences"] == {}
    resp = await client.get(f"{server.url}/presences", headers=alice.auth)
    assert [p["user_id"] for p in await resp.json()] == [str(alice.id)]
    await b.send_json({"type": "presence_update", "status": "idle"})
    assert (await update_of(a, bob))["status"] == "idle"


async def test_setting_the_status_one_has_announces_nothing(client, alice, bob, server, add_member):
    await add_member(bob)
    a, _ = await connected(client, alice)
    b, _ = await connected(client, bob)
    await update_of(a, bob)
    await b.send_json({"type": "presence_update", "status": "online"})
    assert await updates(a) == [] and await updates(b, 0.1) == []


@pytest.mark.parametrize("frame, message", [
    ({"type": "presence_update", "status": "away"}, "invalid presence_update frame: Invalid enum value 'away'"),
    ({"type": "presence_update", "status": "offline"}, "invalid presence_update frame: Invalid enum value 'offline'"),
    ({"type": "presence_update"}, "invalid presence_update frame: Object missing required field `status`"),
    ({"type": "presence_update", "status": 3}, "invalid presence_update frame: Expected `str`"),
])
async def test_a_bad_status_is_an_error_event_and_the_socket_stays_open(client, alice, frame, message):
    a, _ = await connected(client, alice)
    await a.send_json(frame)
    error = await next_event(a, "error")
    assert error["message"].startswith(message)
    await a.send_json({"type": "presence_update", "status": "idle"})
    assert (await update_of(a, alice))["status"] == "idle"


async def test_one_frame_per_socket_per_change_for_users_sharing_three_servers_and_a_conversation(
        client, db, alice, bob, carol):
    for _ in range(3):
        await make_server(client, alice, bob)
    await make_server(client, carol)  # carol shares nothing with bob
    await presence_queries.create_dm(db, user_ids=[alice.id, bob.id])
    alices = [(await connected(client, alice))[0] for _ in range(2)]
    c, _ = await connected(client, carol)
    b, _ = await connected(client, bob)
    await shown(db, bob, "online")
    for status in ("idle", "dnd", "online"):
        await b.send_json({"type": "presence_update", "status": status})
    for status_changes in await asyncio.gather(*(updates(ws, 1.5) for ws in alices)):
        assert [u["status"] for u in status_changes if u["userId"] == str(bob.id)] == ["online", "idle", "dnd",
                                                                                      "online"]
    assert [u for u in await updates(c, 0.1) if u["userId"] != str(carol.id)] == []


async def test_a_user_sharing_only_a_conversation_hears_of_the_change(client, db, alice, bob):
    await presence_queries.create_dm(db, user_ids=[alice.id, bob.id])
    a, _ = await connected(client, alice)
    b, hello = await connected(client, bob)
    assert hello["presences"] == {str(alice.id): "online"}
    assert (await update_of(a, bob))["status"] == "online"
    await b.send_json({"type": "presence_update", "status": "idle"})
    assert (await update_of(a, bob))["status"] == "idle"


async def test_the_last_socket_closing_turns_the_user_offline_after_the_grace(short_grace, db, alice, bob, server,
                                                                              add_member):
    await add_member(bob)
    a, _ = await connected(short_grace, alice)
    b, _ = await connected(short_grace, bob)
    await update_of(a, bob)
    await b.close()
    started = time.monotonic()
    assert (await update_of(a, bob))["status"] == "offline"
    assert time.monotonic() - started >= 0.4
    assert [row["user_id"] async for row in presence_queries.node_users(db)] == [alice.id]


async def test_a_reconnect_within_the_grace_announces_nothing(short_grace, alice, bob, server, add_member):
    await add_member(bob)
    a, _ = await connected(short_grace, alice)
    b, _ = await connected(short_grace, bob)
    await update_of(a, bob)
    await b.close()
    b, _ = await connected(short_grace, bob)
    assert [u for u in await updates(a, 1.2) if u["userId"] == str(bob.id)] == []


async def test_a_status_set_while_offline_is_kept_and_shown_once_connected(client, alice, bob, server, add_member):
    await add_member(bob)
    a, _ = await connected(client, alice)
    resp = await client.put("/chat/users/@me/presence", json={"status": "idle"}, headers=bob.auth)
    assert resp.status == 200 and await resp.json() == {"status": "idle"}
    assert [u for u in await updates(a, 0.3) if u["userId"] == str(bob.id)] == []  # offline: nothing to see
    b, hello = await connected(client, bob)
    assert hello["status"] == "idle"
    assert (await update_of(a, bob))["status"] == "idle"


@pytest.mark.parametrize("body, detail", [
    ({"status": "away"}, "Invalid enum value 'away' - at `$.status`"),
    ({"status": "offline"}, "Invalid enum value 'offline' - at `$.status`"),
    ({}, "Object missing required field `status`"),
    ({"status": "idle", "extra": 1}, "Object contains unknown field `extra`"),
])
async def test_a_bad_status_over_rest_is_a_400(client, alice, body, detail):
    resp = await client.put("/chat/users/@me/presence", json=body, headers=alice.auth)
    assert resp.status == 400
    assert detail in (await resp.json())["detail"]


async def test_presences_page_through_a_server_by_user_id_and_status(client, alice, make_user, server, add_member):
    people = [await make_user(f"user{i}") for i in range(5)]
    for person in people:
        await add_member(person)
    sockets = [(await connected(client, person))[0] for person in people]
    await sockets[0].send_json({"type": "presence_update", "status": "dnd"})
    while (await update_of(sockets[0], people[0]))["status"] != "dnd":
        pass
    online = sorted(str(p.id) for p in people[1:])

    async def page(**params) -> list[dict]:
        resp = await client.get(f"{server.url}/presences", params=params, headers=alice.auth)
        assert resp.status == 200, await resp.text()
        return await resp.json()

    first = await page(status="online", limit=2)
    second = await page(status="online", limit=2, after=first[-1]["user_id"])
    third = await page(status="online", limit=2, after=second[-1]["user_id"])
    assert [p["user_id"] for p in first + second + third] == online
    assert {p["status"] for p in first + second} == {"online"}
    assert [(p["user_id"], p["username"], p["status"]) for p in await page(status="dnd")] == [
        (str(people[0].id), "user0", "dnd")]
    assert [p["user_id"] for p in await page(status="offline")] == [str(alice.id)]
    assert len(await page()) == 5


@pytest.mark.parametrize("query, status, detail", [
    ("status=away", 400, "status must be one of online, idle, dnd, offline"),
    ("status=invisible", 400, "status must be one of online, idle, dnd, offline"),
    ("limit=0", 400, "limit must be at least 1"),
    ("limit=x", 400, "limit must be a whole number, not 'x'"),
    ("after=nope", 400, "after is not a valid id"),
])
async def test_bad_presence_queries_are_400s(client, alice, server, query, status, detail):
    resp = await client.get(f"{server.url}/presences?{query}", headers=alice.auth)
    assert resp.status == status
    assert await resp.json() == {"detail": detail}


async def test_presences_of_a_server_are_404_for_non_members_and_unknown_servers(client, alice, bob, server):
    for url in (f"{server.url}/presences", "/chat/servers/00000000-0000-0000-0000-000000000000/presences",
                "/chat/servers/nope/presences"):
        resp = await client.get(url, headers=bob.auth)
        assert resp.status == 404


async def test_status_changes_are_limited_with_messages_over_both_edges(aiohttp_client, config, db, alice):
    limited = await aiohttp_client(create_app(replace(config, rate_limit=RateLimit(5, 5.0))))
    a, _ = await connected(limited, alice)
    for status in ("idle", "dnd", "online", "idle", "dnd"):
        resp = await limited.put("/chat/users/@me/presence", json={"status": status}, headers=alice.auth)
        assert resp.status == 200
    resp = await limited.put("/chat/users/@me/presence", json={"status": "online"}, headers=alice.auth)
    assert resp.status == 429
    assert await resp.json() == {"detail": "you are changing your status too fast"}
    await a.send_json({"type": "presence_update", "status": "online"})
    error = await next_event(a, "error")
    assert error["message"] == "you are changing your status too fast" and error["retryAfter"] > 0


async def test_connected_lists_at_most_1000_presences(client, db, alice, server):
    await presence_queries.add_online_members(db, server_id=server.id, n=1100)
    _, hello = await connected(client, alice)
    assert len(hello["presences"]) == 1000
    assert set(hello["presences"].values()) == {"online"}


async def test_a_conversations_people_carry_their_presence(client, db, alice, bob, server, add_member):
    await add_member(bob)
    b, _ = await connected(client, bob)
    await shown(db, bob, "online")
    await b.send_json({"type": "presence_update", "status": "dnd"})
    await shown(db, bob, "dnd")
    resp = await client.post("/chat/dms", json={"recipient_ids": [str(bob.id)]}, headers=alice.auth)
    assert resp.status == 201
    created = await next_event(b, "dm_created")
    listed = await (await client.get("/chat/dms", headers=alice.auth)).json()
    for dm in (await resp.json(), created["dm"], listed[0]):
        assert {r["username"]: r["presence"] for r in dm["recipients"]} == {"alice": "offline", "bob": "dnd"}
