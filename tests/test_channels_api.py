"""Channels: /chat/servers/{id}/channels list and create."""

from __future__ import annotations

import asyncio

import pytest

from test_gateway import connect, next_event

TYPE_PATTERN = "Expected `str` matching regex '^([Tt][Ee][Xx][Tt]|[Vv][Oo][Ii][Cc][Ee])$' - at `$.type`"


async def create_channel(client, server, person, **body) -> dict:
    resp = await client.post(f"{server.url}/channels", json=body, headers=person.auth)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def list_channels(client, server, person) -> list[dict]:
    resp = await client.get(f"{server.url}/channels", headers=person.auth)
    assert resp.status == 200
    return await resp.json()


async def test_creating_a_channel_answers_201_with_the_channel(client, alice, server):
    resp = await client.post(f"{server.url}/channels", json={"name": "random", "type": "TEXT"}, headers=alice.auth)
    assert resp.status == 201
    body = await resp.json()
    assert body == {"id": body["id"], "server_id": server.id, "name": "random", "type": "text", "position": 1,
                    "category_id": None, "topic": None, "created_at": body["created_at"]}


async def test_a_channel_is_text_unless_a_type_is_given(client, alice, server):
    body = await create_channel(client, server, alice, name="random")
    assert body["type"] == "text"


@pytest.mark.parametrize("given, stored", [
    ("TEXT", "text"), ("text", "text"), ("Text", "text"), ("tExT", "text"),
    ("VOICE", "voice"), ("voice", "voice"), ("Voice", "voice"), ("vOiCe", "voice"),
])
async def test_the_type_is_accepted_in_any_case_and_written_in_lower_case(client, alice, server, given, stored):
    body = await create_channel(client, server, alice, name="room", type=given)
    assert body["type"] == stored
    assert (await list_channels(client, server, alice))[1] == body


@pytest.mark.parametrize("given", ["video", "", "TEXT ", "texts", "1", "STAGE"])
async def test_an_unknown_channel_type_is_400(client, alice, server, given):
    resp = await client.post(f"{server.url}/channels", json={"name": "room", "type": given}, headers=alice.auth)
    assert resp.status == 400
    assert await resp.json() == {"detail": TYPE_PATTERN}


@pytest.mark.parametrize("body, detail", [
    ({}, "Object missing required field `name`"),
    ({"name": ""}, "Expected `str` of length >= 1 - at `$.name`"),
    ({"name": "x" * 101}, "Expected `str` of length <= 100 - at `$.name`"),
    ({"name": "room", "type": None}, "Expected `str`, got `null` - at `$.type`"),
    ({"name": "room", "position": -1}, "Expected `int` >= 0 - at `$.position`"),
    ({"name": "room", "position": "2"}, "Expected `int | null`, got `str` - at `$.position`"),
    ({"name": "room", "topic": "x"}, "Object contains unknown field `topic`"),
])
async def test_creating_a_channel_with_a_bad_body_is_400(client, alice, server, body, detail):
    resp = await client.post(f"{server.url}/channels", json=body, headers=alice.auth)
    assert resp.status == 400
    assert await resp.json() == {"detail": detail}


@pytest.mark.parametrize("name, detail", [
    ("", "Expected `str` of length >= 1 - at `$.name`"),
    ("   ", "name must not be blank"),
    ("\t\n", "name must not be blank"),
])
async def test_a_blank_channel_name_is_400_and_creates_nothing(client, alice, server, name, detail):
    resp = await client.post(f"{server.url}/channels", json={"name": name}, headers=alice.auth)
    assert resp.status == 400
    assert await resp.json() == {"detail": detail}
    assert [c["name"] for c in await list_channels(client, server, alice)] == ["general"]


async def test_a_channel_name_is_stored_without_surrounding_whitespace(client, alice, server):
    created = await create_channel(client, server, alice, name=" news\t")
    assert created["name"] == "news"
    assert (await list_channels(client, server, alice))[1] == created


async def test_new_channels_get_the_next_position(client, alice, server):
    positions = [(await create_channel(client, server, alice, name=f"c{i}"))["position"] for i in range(3)]
    assert positions == [1, 2, 3]


async def test_channels_created_at_once_get_distinct_dense_positions_in_commit_order(client, alice, server):
    ws = await connect(client, alice)
    responses = await asyncio.gather(*(client.post(f"{server.url}/channels", json={"name": f"c{i}"},
                                                   headers=alice.auth) for i in range(20)))
    assert [resp.status for resp in responses] == [201] * 20
    created = [await resp.json() for resp in responses]
    assert sorted(channel["position"] for channel in created) == list(range(1, 21))
    # Members hear channel_created in commit order: each after the one before it.
    heard = [(await next_event(ws, "channel_created"))["channel"]["position"] for _ in range(20)]
    assert heard == list(range(1, 21))
    assert [c["position"] for c in await list_channels(client, server, alice)] == list(range(21))


async def test_an_explicit_position_puts_the_channel_there_and_moves_the_rest_down(client, alice, server):
    first = await create_channel(client, server, alice, name="first")
    top = await create_channel(client, server, alice, name="top", position=0)
    assert top["position"] == 0
    middle = await create_channel(client, server, alice, name="middle", type="voice", position=2)
    assert middle["position"] == 2
    assert first["position"] == 1  # when it was created
    assert [(c["name"], c["position"]) for c in await list_channels(client, server, alice)] == [
        ("top", 0), ("general", 1), ("middle", 2), ("first", 3)]


async def test_a_position_past_the_end_is_the_end(client, alice, server):
    assert (await create_channel(client, server, alice, name="far", position=10))["position"] == 1
    assert (await create_channel(client, server, alice, name="next"))["position"] == 2


async def test_each_server_numbers_its_own_channels(client, alice, server):
    await create_channel(client, server, alice, name="busy", position=40)
    resp = await client.post("/chat/servers", json={"name": "Other"}, headers=alice.auth)
    other_id = (await resp.json())["id"]
    resp = await client.post(f"/chat/servers/{other_id}/channels", json={"name": "second"}, headers=alice.auth)
    assert resp.status == 201
    assert (await resp.json())["position"] == 1


@pytest.mark.parametrize("role", ["MODERATOR", "MEMBER"])
async def test_only_an_admin_can_create_a_channel(client, alice, bob, server, add_member, role):
    await add_member(bob, role)
    resp = await client.post(f"{server.url}/channels", json={"name": "mine"}, headers=bob.auth)
    assert resp.status == 403
    assert await resp.json() == {"detail": "only an ADMIN can create channels"}
    assert [c["name"] for c in await list_channels(client, server, alice)] == ["general"]


@pytest.mark.parametrize("role", ["MODERATOR", "MEMBER"])
async def test_every_member_reads_the_channel_list(client, alice, bob, server, add_member, role):
    await add_member(bob, role)
    await create_channel(client, server, alice, name="voice", type="VOICE")
    assert await list_channels(client, server, bob) == await list_channels(client, server, alice)
