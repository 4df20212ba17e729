"""Servers: /chat/servers list, create, get one and delete (with everything under it)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from uuid import UUID

import pytest


def server_body(created: dict, role: str) -> dict:
    """A server as the caller with `role` sees it."""
    return {**created, "role": role}


async def create_server(client, person, **body) -> dict:
    resp = await client.post("/chat/servers", json=body, headers=person.auth)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def test_a_new_user_has_no_servers(client, alice):
    resp = await client.get("/chat/servers", headers=alice.auth)
    assert resp.status == 200
    assert await resp.json() == []


async def test_creating_a_server_answers_201_with_the_server(client, alice):
    resp = await client.post("/chat/servers", json={"name": "Guild", "icon": "https://img.example/g.png"},
                             headers=alice.auth)
    assert resp.status == 201
    body = await resp.json()
    assert body == {
        "id": body["id"], "name": "Guild", "icon": "https://img.example/g.png", "creator_id": str(alice.id),
        "created_by": str(alice.id), "created_at": body["created_at"], "role": "ADMIN",
    }
    UUID(body["id"])
    assert datetime.fromisoformat(body["created_at"]).utcoffset().total_seconds() == 0


async def test_a_server_without_an_icon_has_icon_null(client, alice):
    body = await create_server(client, alice, name="Plain")
    assert body["icon"] is None


async def test_the_creator_becomes_the_servers_only_member_as_admin(client, alice):
    server = await create_server(client, alice, name="Guild")
    resp = await client.get(f"/chat/servers/{server['id']}/members", headers=alice.auth)
    assert resp.status == 200
    members = await resp.json()
    assert members == [{"user_id": str(alice.id), "username": "alice", "role": "ADMIN",
                        "joined_at": members[0]["joined_at"]}]


async def test_a_new_server_has_a_general_text_channel(client, alice):
    server = await create_server(client, alice, name="Guild")
    resp = await client.get(f"/chat/servers/{server['id']}/channels", headers=alice.auth)
    assert resp.status == 200
    channels = await resp.json()
    assert channels == [{"id": channels[0]["id"], "server_id": server["id"], "name": "general", "type": "text",
                         "position": 0, "category_id": None, "topic": None, "created_at": channels[0]["created_at"]}]


@pytest.mark.parametrize("body, detail", [
    ({}, "Object missing required field `name`"),
    ({"name": ""}, "Expected `str` of length >= 1 - at `$.name`"),
    ({"name": "x" * 101}, "Expected `str` of length <= 100 - at `$.name`"),
    ({"name": 7}, "Expected `str`, got `int` - at `$.name`"),
    ({"name": "Guild", "icon": 1}, "Expected `str | null`, got `int` - at `$.icon`"),
    ({"name": "Guild", "owner": "me"}, "Object contains unknown field `owner`"),
])
async def test_creating_a_server_with_a_bad_body_is_400(client, alice, body, detail):
    resp = await client.post("/chat/servers", json=body, headers=alice.auth)
    assert resp.status == 400
    assert await resp.json() == {"detail": detail}


@pytest.mark.parametrize("name, detail", [
    ("", "Expected `str` of length >= 1 - at `$.name`"),
    ("   ", "name must not be blank"),
    ("\t\n", "name must not be blank"),
])
async def test_a_blank_server_name_is_400_and_creates_nothing(client, alice, name, detail):
    resp = await client.post("/chat/servers", json={"name": name}, headers=alice.auth)
    assert resp.status == 400
    assert await resp.json() == {"detail": detail}
    assert await (await client.get("/chat/servers", headers=alice.auth)).json() == []


async def test_a_server_name_is_stored_without_surrounding_whitespace(client, alice):
    created = await create_server(client, alice, name="  The Guild \n")
    assert created["name"] == "The Guild"
    assert [s["name"] for s in await (await client.get("/chat/servers", headers=alice.auth)).json()] == ["The Guild"]


async def test_the_list_holds_the_callers_servers_oldest_first_with_the_callers_role(
        client, alice, bob, carol):
    first = await create_server(client, alice, name="First")
    second = await create_server(client, bob, name="Second", icon="i.png")
    await create_server(client, carol, name="Carol's own")
    resp = await client.post(f"/chat/servers/{second['id']}/members",
                             json={"username": "alice", "role": "MODERATOR"}, headers=bob.auth)
    assert resp.status == 201

    resp = await client.get("/chat/servers", headers=alice.auth)
    assert resp.status == 200
    assert await resp.json() == [server_body(first, "ADMIN"), server_body(second, "MODERATOR")]

    resp = await client.get("/chat/servers", headers=bob.auth)
    assert await resp.json() == [server_body(second, "ADMIN")]


async def test_getting_a_server_answers_it_with_the_callers_role(client, alice, bob, server, add_member):
    await add_member(bob, "MODERATOR")
    created = await (await client.get("/chat/servers", headers=alice.auth)).json()

    resp = await client.get(server.url, headers=alice.auth)
    assert resp.status == 200
    assert await resp.json() == created[0]

    resp = await client.get(server.url, headers=bob.auth)
    assert resp.status == 200
    assert await resp.json() == {**created[0], "role": "MODERATOR"}


async def test_getting_a_server_that_does_not_exist_is_404(client, alice):
    resp = await client.get("/chat/servers/00000000-0000-4000-8000-000000000000", headers=alice.auth)
    assert resp.status == 404
    assert await resp.json() == {"detail": "server not found"}


async def test_deleting_a_server_answers_204_with_no_body(client, alice, server):
    resp = await client.delete(server.url, headers=alice.auth)
    assert resp.status == 204
    assert await resp.read() == b""
    resp = await client.get(server.url, headers=alice.auth)
    assert resp.status == 404
    assert await resp.json() == {"detail": "server not found"}
    assert await (await client.get("/chat/servers", headers=alice.auth)).json() == []


async def test_deleting_a_server_deletes_its_channels_messages_and_memberships(
        client, db, test_queries, alice, bob, server, add_member):
    await add_member(bob)
    other = await create_server(client, alice, name="Other")
    other_general = (await (await client.get(f"/chat/servers/{other['id']}/channels", headers=alice.auth)).json())[0]
    resp = await client.post(f"{server.url}/channels", json={"name": "voice", "type": "VOICE"}, headers=alice.auth)
    assert resp.status == 201
    for person, text in [(alice, "hi"), (bob, "hello")]:
        resp = await client.post(f"{server.url}/channels/{server.general}/messages", json={"text": text},
                                 headers=person.auth)
        assert resp.status == 201
    resp = await client.post(f"/chat/servers/{other['id']}/channels/{other_general['id']}/messages",
                             json={"text": "stays"}, headers=alice.auth)
    assert resp.status == 201
    before = dict(await test_queries.count_server_rows(db, server_id=UUID(server.id)))
    assert before == {"servers": 1, "channels": 2, "messages": 2, "memberships": 2}

    resp = await client.delete(server.url, headers=alice.auth)
    assert resp.status == 204

    after = dict(await test_queries.count_server_rows(db, server_id=UUID(server.id)))
    assert after == {"servers": 0, "channels": 0, "messages": 0, "memberships": 0}
    # The other server, and the users, are untouched.
    assert dict(await test_queries.count_rows(db)) == {
        "users": 2, "servers": 1, "channels": 1, "messages": 1, "memberships": 1}
    resp = await client.get(f"/chat/servers/{other['id']}/channels/{other_general['id']}/messages",
                            headers=alice.auth)
    assert [m["text"] for m in await resp.json()] == ["stays"]


async def test_after_the_delete_former_members_get_404_for_the_server_and_its_channels(
        client, alice, bob, server, add_member):
    await add_member(bob)
    assert (await client.delete(server.url, headers=alice.auth)).status == 204
    for path in (server.url, f"{server.url}/channels", f"{server.url}/channels/{server.general}/messages",
                 f"{server.url}/members"):
        resp = await client.get(path, headers=bob.auth)
        assert resp.status == 404, path
        assert await resp.json() == {"detail": "server not found"}


async def test_deleting_a_server_twice_is_404(client, alice, server):
    assert (await client.delete(server.url, headers=alice.auth)).status == 204
    resp = await client.delete(server.url, headers=alice.auth)
    assert resp.status == 404
    assert await resp.json() == {"detail": "server not found"}


async def test_channels_and_members_added_while_the_server_is_deleted_are_404_never_500(
        client, db, test_queries, lock_waiters, make_user, alice, server):
    newcomers = [await make_user(f"newcomer{i}") for i in range(4)]
    async with db.transaction():
        # Hold the server row: the delete queues on it first, then creations and additions
        # whose permission checks have passed. Released, the delete goes first.
        await test_queries.hold_server_row(db, server_id=UUID(server.id))
        delete = asyncio.ensure_future(client.delete(server.url, headers=alice.auth))
        await lock_waiters(1)
        changes = [
            *(asyncio.ensure_future(client.post(f"{server.url}/channels", json={"name": f"c{i}"}, headers=alice.auth))
              for i in range(4)),
            *(asyncio.ensure_future(client.post(f"{server.url}/members", json={"user_id": str(person.id)},
                                                headers=alice.auth))
              for person in newcomers),
        ]
        await lock_waiters(1 + len(changes))
    assert (await delete).status == 204
    responses = await asyncio.gather(*changes)
    assert [(resp.status, await resp.json()) for resp in responses] == [(404, {"detail": "server not found"})] * 8
    assert dict(await test_queries.count_server_rows(db, server_id=UUID(server.id))) == {
        "servers": 0, "channels": 0, "messages": 0, "memberships": 0}
