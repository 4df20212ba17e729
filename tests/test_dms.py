"""Direct messages: opening 1:1 and group conversations, their people, blocks, and everything a
server channel has (history, edits, deletions, reactions, the change stream, resume) under
/chat/dms/{dm_id}, over REST and the WebSocket."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest

from test_gateway import connect, next_event, no_event
from test_presence import shown


async def open_dm(client, person, *others, status: int | None = None) -> dict:
    resp = await client.post("/chat/dms", json={"recipient_ids": [str(o.id) for o in others]}, headers=person.auth)
    if status is not None:
        assert resp.status == status, await resp.text()
    return await resp.json()


async def refused(resp, status: int, detail: str) -> None:
    assert (resp.status, await resp.json()) == (status, {"detail": detail})


@pytest.fixture
async def friends(add_member, bob, carol):
    """bob and carol are in alice's server: all three may write to each other."""
    await add_member(bob)
    await add_member(carol)


def names(dm: dict) -> list[str]:
    return [r["username"] for r in dm["recipients"]]


# Opening conversations

async def test_a_1_1_is_made_once_then_found(client, alice, bob, friends):
    made = await open_dm(client, alice, bob, status=201)
    assert made["type"] == "dm" and made["owner_id"] is None and made["last_message_at"] is None
    assert sorted(names(made)) == ["alice", "bob"]
    assert await open_dm(client, alice, bob, status=200) == made
    assert await open_dm(client, bob, alice, status=200) == made  # the pair's, whoever asks


async def test_fifty_concurrent_openings_of_one_pair_make_one_conversation(client, alice, bob, friends, db,
                                                                            test_queries):
    responses = await asyncio.gather(*(
        client.post("/chat/dms", json={"recipient_ids": [str(other.id)]}, headers=asker.auth)
        for asker, other in [(alice, bob), (bob, alice)] * 25))
    statuses = sorted(r.status for r in responses)
    assert statuses == [200] * 49 + [201]
    assert len({(await r.json())["id"] for r in responses}) == 1
    assert await test_queries.count_dm_channels(db) == 1


async def test_a_group_is_owned_by_its_creator(client, alice, bob, carol, friends):
    group = await open_dm(client, alice, bob, carol, status=201)
    assert group["type"] == "group_dm" and group["owner_id"] == str(alice.id)
    assert sorted(names(group)) == ["alice", "bob", "carol"]
    # Each asking makes a new group.
    assert (await open_dm(client, alice, bob, carol, status=201))["id"] != group["id"]


async def test_opening_a_conversation_with_yourself_is_refused(client, alice):
    await refused(await client.post("/chat/dms", json={"recipient_ids": [str(alice.id)]}, headers=alice.auth),
                  400, "you cannot open a conversation with yourself")


async def test_more_than_nine_recipients_are_refused(client, alice):
    resp = await client.post("/chat/dms", json={"recipient_ids": [str(uuid4()) for _ in range(10)]},
                             headers=alice.auth)
    await refused(resp, 400, "Expected `array` of length <= 9 - at `$.recipient_ids`")


async def test_no_recipient_is_refused(client, alice):
    await refused(await client.post("/chat/dms", json={"recipient_ids": []}, headers=alice.auth),
                  400, "Expected `array` of length >= 1 - at `$.recipient_ids`")


async def test_a_repeated_recipient_is_refused(client, alice, bob, friends):
    await refused(await client.post("/chat/dms", json={"recipient_ids": [str(bob.id)] * 2}, headers=alice.auth),
                  400, "recipient_ids must not repeat an id")


async def test_malformed_and_unknown_recipients_are_refused(client, alice, bob, friends):
    resp = await client.post("/chat/dms", json={"recipient_ids": ["nope"]}, headers=alice.auth)
    await refused(resp, 400, "Invalid UUID - at `$.recipient_ids[0]`")
    await refused(await client.post("/chat/dms", json={"recipient_ids": [str(uuid4())]}, headers=alice.auth),
                  404, "user not found")
    resp = await client.post("/chat/dms", json={"recipient_ids": [str(bob.id), str(uuid4())]}, headers=alice.auth)
    await refused(resp, 404, "user not found")


async def test_a_recipient_sharing_no_server_is_refused(client, alice, bob, carol, add_member):
    await add_member(bob)
    await refused(await client.post("/chat/dms", json={"recipient_ids": [str(carol.id)]}, headers=alice.auth),
                  403, "you share no server with this user")
    resp = await client.post("/chat/dms", json={"recipient_ids": [str(bob.id), str(carol.id)]}, headers=alice.auth)
    await refused(resp, 403, "you share no server with this user")


@pytest.mark.parametrize("blocker", ["alice", "bob"])
async def test_a_block_either_way_refuses_a_new_conversation_saying_no_more(client, alice, bob, carol, friends,
                                                                             blocker):
    blocking, blocked = (alice, bob) if blocker == "alice" else (bob, alice)
    assert (await client.put(f"/chat/users/@me/blocks/{blocked.id}", headers=blocking.auth)).status == 204
    for asker, other in ((alice, bob), (bob, alice)):
        await refused(await client.post("/chat/dms", json={"recipient_ids": [str(other.id)]}, headers=asker.auth),
                      403, "you cannot message this user")
    resp = await client.post("/chat/dms", json={"recipient_ids": [str(bob.id), str(carol.id)]}, headers=alice.auth)
    await refused(resp, 403, "you cannot message this user")


# Reading conversations

async def test_conversations_are_listed_by_latest_activity_and_hidden_from_others(client, alice, bob, carol,
                                                                                   friends):
    one = await open_dm(client, alice, bob, status=201)
    group = await open_dm(client, alice, bob, carol, status=201)
    listed = await (await client.get("/chat/dms", headers=alice.auth)).json()
    assert [dm["id"] for dm in listed] == [group["id"], one["id"]]  # the newest first, without messages
    resp = await client.post(f"/chat/dms/{one['id']}/messages", json={"text": "hi"}, headers=alice.auth)
    assert resp.status == 201
    listed = await (await client.get("/chat/dms", headers=alice.auth)).json()
    assert [dm["id"] for dm in listed] == [one["id"], group["id"]]
    assert listed[0]["last_message_at"] == (await resp.json())["created_at"]
    assert await (await client.get(f"/chat/dms/{one['id']}", headers=bob.auth)).json() == listed[0]
    assert [dm["id"] for dm in await (await client.get("/chat/dms", headers=carol.auth)).json()] == [group["id"]]
    await refused(await client.get(f"/chat/dms/{one['id']}", headers=carol.auth), 404, "conversation not found")
    await refused(await client.get(f"/chat/dms/{uuid4()}", headers=carol.auth), 404, "conversation not found")
    await refused(await client.get("/chat/dms/nope", headers=carol.auth), 404, "dm_id is not a valid id")


async def test_a_non_participant_gets_404_for_everything_about_a_conversation(client, alice, bob, carol, friends):
    dm = await open_dm(client, alice, bob, status=201)
    base = f"/chat/dms/{dm['id']}"
    message = await (await client.post(f"{base}/messages", json={"text": "private"}, headers=alice.auth)).json()
    mid = message["id"]
    attempts = [
        ("GET", base, None), ("GET", f"{base}/messages", None), ("POST", f"{base}/messages", {"text": "x"}),
        ("PATCH", f"{base}/messages/{mid}", {"text": "x"}), ("DELETE", f"{base}/messages/{mid}", None),
        ("GET", f"{base}/messages/{mid}/edits", None), ("POST", f"{base}/messages/bulk-delete", {"ids": [mid]}),
        ("PUT", f"{base}/messages/{mid}/reactions/%F0%9F%91%8D/@me", None),
        ("GET", f"{base}/messages/{mid}/reactions/%F0%9F%91%8D", None),
        ("DELETE", f"{base}/messages/{mid}/reactions", None), ("GET", f"{base}/changes", None),
        ("PUT", f"{base}/recipients/{carol.id}", None), ("DELETE", f"{base}/recipients/@me", None),
    ]
    for method, path, body in attempts:
        resp = await client.request(method, path, json=body, headers=carol.auth)
        assert (resp.status, await resp.json()) == (404, {"detail": "conversation not found"}), (method, path)
    # A server channel's id is no conversation, and a conversation's id is no channel of a server.
    server_channels = await (await client.get("/chat/servers", headers=alice.auth)).json()
    resp = await client.get(f"/chat/servers/{server_channels[0]['id']}/channels/{dm['id']}/messages",
                            headers=alice.auth)
    await refused(resp, 404, "channel not found")


# Messages and everything under them

async def test_a_conversation_has_history_edits_deletions_replies_and_reactions(client, alice, bob, friends):
    dm = await open_dm(client, alice, bob, status=201)
    base = f"/chat/dms/{dm['id']}/messages"
    first = await (await client.post(base, json={"text": "one", "nonce": "n1"}, headers=alice.auth)).json()
    assert first["server_id"] is None and first["channel_id"] == dm["id"] and first["seq"] == 1
    again = await client.post(base, json={"text": "one", "nonce": "n1"}, headers=alice.auth)
    assert (again.status, (await again.json())["id"]) == (201, first["id"])  # the nonce: stored once
    reply = await (await client.post(base, json={"text": "two", "reply_to": first["id"]}, headers=bob.auth)).json()
    assert reply["reply_to"]["id"] == first["id"]
    resp = await client.patch(f"{base}/{first['id']}", json={"text": "uno"}, headers=alice.auth)
    assert (await resp.json())["text"] == "uno"
    versions = await (await client.get(f"{base}/{first['id']}/edits", headers=alice.auth)).json()
    assert [v["text"] for v in versions] == ["one"]
    assert (await client.put(f"{base}/{reply['id']}/reactions/%F0%9F%91%8D/@me", headers=alice.auth)).status == 204
    page = await client.get(base, headers=bob.auth)
    assert [(m["text"], m["reactions"]) for m in await page.json()] == [
        ("uno", []), ("two", [{"emoji": "👍", "count": 1, "me": False}])]
    older = await (await client.get(base, params={"before": reply["id"]}, headers=bob.auth)).json()
    assert [m["id"] for m in older] == [first["id"]]
    assert (await client.delete(f"{base}/{reply['id']}", headers=bob.auth)).status == 204
    changes = await (await client.get(f"/chat/dms/{dm['id']}/changes", headers=bob.auth)).json()
    assert [(c["type"], c["eventSeq"], c["serverId"]) for c in changes] == [
        ("new_message", 1, None), ("new_message", 2, None), ("message_updated", 3, None),
        ("reaction_added", 4, None), ("message_deleted", 5, None)]
    assert page.headers["Chatd-Event-Seq"] == "4"


async def test_in_a_conversation_nobody_moderates(client, alice, bob, carol, friends):
    group = await open_dm(client, alice, bob, carol, status=201)  # alice owns it: still no moderator
    base = f"/chat/dms/{group['id']}/messages"
    message = await (await client.post(base, json={"text": "bob's"}, headers=bob.auth)).json()
    mine = f"{base}/{message['id']}"
    assert (await client.put(f"{mine}/reactions/%F0%9F%91%8D/@me", headers=bob.auth)).status == 204
    await refused(await client.delete(mine, headers=alice.auth), 403,
                  "nobody can delete another user's message in a conversation")
    await refused(await client.patch(mine, json={"text": "x"}, headers=alice.auth), 403,
                  "only the author can edit a message")
    await refused(await client.get(f"{mine}/edits", headers=alice.auth), 403,
                  "nobody can see the earlier versions of another user's message in a conversation")
    await refused(await client.delete(f"{mine}/reactions/%F0%9F%91%8D/{bob.id}", headers=alice.auth), 403,
                  "nobody can remove others' reactions in a conversation")
    await refused(await client.delete(f"{mine}/reactions", headers=alice.auth), 403,
                  "nobody can remove others' reactions in a conversation")
    await refused(await client.post(f"{base}/bulk-delete", json={"ids": [message["id"]]}, headers=alice.auth), 403,
                  "nobody can bulk-delete messages in a conversation")
    # Their own, they may.
    assert (await client.delete(f"{mine}/reactions/%F0%9F%91%8D/{bob.id}", headers=bob.auth)).status == 204
    assert (await client.delete(mine, headers=bob.auth)).status == 204


@pytest.mark.parametrize("blocker", ["alice", "bob"])
async def test_a_block_either_way_stops_sends_into_the_1_1_and_lifting_it_allows_them(client, alice, bob, friends,
                                                                                       blocker):
    dm = await open_dm(client, alice, bob, status=201)
    blocking, blocked = (alice, bob) if blocker == "alice" else (bob, alice)
    block = f"/chat/users/@me/blocks/{blocked.id}"
    assert (await client.put(block, headers=blocking.auth)).status == 204
    for sender in (alice, bob):
        await refused(await client.post(f"/chat/dms/{dm['id']}/messages", json={"text": "x"}, headers=sender.auth),
                      403, "you cannot message this user")
    assert (await client.delete(block, headers=blocking.auth)).status == 204
    resp = await client.post(f"/chat/dms/{dm['id']}/messages", json={"text": "x"}, headers=blocked.auth)
    assert resp.status == 201


async def test_sends_into_a_1_1_stop_once_the_two_share_no_server(client, alice, bob, server, add_member):
    await add_member(bob)
    dm = await open_dm(client, alice, bob, status=201)
    assert (await client.delete(f"{server.url}/members/{bob.id}", headers=alice.auth)).status == 204
    await refused(await client.post(f"/chat/dms/{dm['id']}/messages", json={"text": "x"}, headers=alice.auth),
                  403, "you share no server with this user")


async def test_a_block_does_not_stop_a_group(client, alice, bob, carol, friends):
    group = await open_dm(client, alice, bob, carol, status=201)
    assert (await client.put(f"/chat/users/@me/blocks/{bob.id}", headers=carol.auth)).status == 204
    resp = await client.post(f"/chat/dms/{group['id']}/messages", json={"text": "x"}, headers=bob.auth)
    assert resp.status == 201


# Blocks

async def test_blocks_are_listed_and_lifted(client, alice, bob, carol):
    assert await (await client.get("/chat/users/@me/blocks", headers=alice.auth)).json() == []
    for person in (bob, carol, bob):  # blocking twice changes nothing
        assert (await client.put(f"/chat/users/@me/blocks/{person.id}", headers=alice.auth)).status == 204
    listed = await (await client.get("/chat/users/@me/blocks", headers=alice.auth)).json()
    assert [(b["user_id"], b["username"]) for b in listed] == [(str(carol.id), "carol"), (str(bob.id), "bob")]
    assert await (await client.get("/chat/users/@me/blocks", headers=bob.auth)).json() == []  # private
    assert (await client.delete(f"/chat/users/@me/blocks/{bob.id}", headers=alice.auth)).status == 204
    await refused(await client.delete(f"/chat/users/@me/blocks/{bob.id}", headers=alice.auth), 404,
                  "block not found")


async def test_bad_blocks_are_refused(client, alice):
    await refused(await client.put(f"/chat/users/@me/blocks/{alice.id}", headers=alice.auth), 400,
                  "you cannot block yourself")
    await refused(await client.put(f"/chat/users/@me/blocks/{uuid4()}", headers=alice.auth), 404, "user not found")
    await refused(await client.put("/chat/users/@me/blocks/nope", headers=alice.auth), 404,
                  "user_id is not a valid id")


# A group's people

async def test_the_owner_adds_and_removes_and_others_may_not(client, alice, bob, carol, make_user, add_member):
    await add_member(bob)
    await add_member(carol)
    dave = await make_user("dave")
    await add_member(dave)
    group = await open_dm(client, alice, bob, carol, status=201)
    people = f"/chat/dms/{group['id']}/recipients"
    await refused(await client.put(f"{people}/{dave.id}", headers=bob.auth), 403,
                  "only the owner can add people to this conversation")
    await refused(await client.delete(f"{people}/{carol.id}", headers=bob.auth), 403,
                  "only the owner can remove people from this conversation")
    assert (await client.put(f"{people}/{dave.id}", headers=alice.auth)).status == 204
    assert (await client.put(f"{people}/{dave.id}", headers=alice.auth)).status == 204  # again: nothing changes
    assert (await client.delete(f"{people}/{carol.id}", headers=alice.auth)).status == 204
    await refused(await client.delete(f"{people}/{carol.id}", headers=alice.auth), 404,
                  "user is not in this conversation")
    dm = await (await client.get(f"/chat/dms/{group['id']}", headers=dave.auth)).json()
    assert sorted(names(dm)[:2]) == ["alice", "bob"] and names(dm)[2] == "dave"  # the longest present first
    await refused(await client.get(f"/chat/dms/{group['id']}", headers=carol.auth), 404, "conversation not found")
    await refused(await client.put(f"{people}/{uuid4()}", headers=alice.auth), 404, "user not found")


async def test_adding_someone_sharing_no_server_or_blocked_is_refused(client, alice, bob, carol, make_user,
                                                                     friends):
    group = await open_dm(client, alice, bob, carol, status=201)
    dave = await make_user("dave")
    await refused(await client.put(f"/chat/dms/{group['id']}/recipients/{dave.id}", headers=alice.auth), 403,
                  "you share no server with this user")
    erin = await make_user("erin")
    resp = await client.post("/chat/servers", json={"name": "Erin's"}, headers=erin.auth)
    erins = (await resp.json())["id"]
    resp = await client.post(f"/chat/servers/{erins}/members", json={"user_id": str(alice.id)}, headers=erin.auth)
    assert resp.status == 201
    assert (await client.put(f"/chat/users/@me/blocks/{alice.id}", headers=erin.auth)).status == 204
    await refused(await client.put(f"/chat/dms/{group['id']}/recipients/{erin.id}", headers=alice.auth), 403,
                  "you cannot message this user")


async def test_a_1_1_takes_no_more_people_and_nobody_leaves_it(client, alice, bob, carol, friends):
    dm = await open_dm(client, alice, bob, status=201)
    message = "a 1:1 conversation keeps its two people: open a group conversation instead"
    await refused(await client.put(f"/chat/dms/{dm['id']}/recipients/{carol.id}", headers=alice.auth), 400, message)
    await refused(await client.delete(f"/chat/dms/{dm['id']}/recipients/@me", headers=alice.auth), 400, message)


async def test_a_group_takes_at_most_ten_people(client, alice, make_user, add_member):
    people = [await make_user(f"user{i}") for i in range(10)]
    for person in people:
        await add_member(person)
    group = await open_dm(client, alice, *people[:9], status=201)
    assert len(group["recipients"]) == 10
    await refused(await client.put(f"/chat/dms/{group['id']}/recipients/{people[9].id}", headers=alice.auth), 400,
                  "a group conversation takes at most 10 people")


async def test_concurrent_adds_never_take_a_group_past_ten(client, alice, make_user, add_member):
    people = [await make_user(f"user{i}") for i in range(14)]
    for person in people:
        await add_member(person)
    group = await open_dm(client, alice, *people[:2], status=201)
    responses = await asyncio.gather(*(client.put(f"/chat/dms/{group['id']}/recipients/{p.id}", headers=alice.auth)
                                       for p in people[2:]))
    assert sorted(r.status for r in responses) == [204] * 7 + [400] * 5
    dm = await (await client.get(f"/chat/dms/{group['id']}", headers=alice.auth)).json()
    assert len(dm["recipients"]) == 10


async def test_when_the_owner_leaves_the_longest_present_owns_the_group(client, alice, bob, carol, make_user,
                                                                          add_member):
    await add_member(bob)
    await add_member(carol)
    dave = await make_user("dave")
    await add_member(dave)
    group = await open_dm(client, alice, carol, bob, status=201)
    people = f"/chat/dms/{group['id']}/recipients"
    assert (await client.put(f"{people}/{dave.id}", headers=alice.auth)).status == 204
    first = min((bob, carol), key=lambda p: str(p.id))  # added together with the owner: the lower id first
    assert (await client.delete(f"{people}/@me", headers=alice.auth)).status == 204
    dm = await (await client.get(f"/chat/dms/{group['id']}", headers=dave.auth)).json()
    assert dm["owner_id"] == str(first.id)
    assert (await client.delete(f"{people}/{first.id}", headers=first.auth)).status == 204  # leaving by id
    dm = await (await client.get(f"/chat/dms/{group['id']}", headers=dave.auth)).json()
    second = carol if first is bob else bob
    assert dm["owner_id"] == str(second.id) and names(dm) == sorted([second.name]) + ["dave"]
    assert (await client.delete(f"{people}/@me", headers=second.auth)).status == 204
    assert (await client.delete(f"{people}/@me", headers=dave.auth)).status == 204
    # Everyone left: the group is gone.
    await refused(await client.get(f"/chat/dms/{group['id']}", headers=dave.auth), 404, "conversation not found")


# The gateway

async def test_connected_lists_the_users_conversations(client, alice, bob, friends):
    dm = await open_dm(client, alice, bob, status=201)
    ws = await client.ws_connect("/chat/ws", params={"token": bob.token})
    hello = await ws.receive_json(timeout=5)
    now = await (await client.get(f"/chat/dms/{dm['id']}", headers=bob.auth)).json()
    for seen in (hello["dms"][0], now):  # presence is as it was read: bob came online in between
        for person in seen["recipients"]:
            del person["presence"]
    assert hello["dms"] == [now]
    assert [s["id"] for s in hello["servers"]]


async def test_dm_events_reach_every_participant_and_only_them(client, db, alice, bob, carol, friends):
    a, b, c = await connect(client, alice), await connect(client, bob), await connect(client, carol)
    for person in (alice, bob):  # so the event and the answer read the same presence
        await shown(db, person, "online")
    dm = await open_dm(client, alice, bob, status=201)
    assert (await next_event(a, "dm_created"))["dm"] == dm
    assert (await next_event(b, "dm_created"))["dm"] == dm
    await b.send_json({"type": "send_message", "channelId": dm["id"], "text": "hello alice", "nonce": "b1"})
    for ws in (a, b):
        event = await next_event(ws, "new_message")
        assert (event["text"], event["serverId"], event["channelId"], event["nonce"]) == (
            "hello alice", None, dm["id"], "b1")
    await a.send_json({"type": "typing_start", "channelId": dm["id"]})
    typing = await next_event(b, "typing_start")
    assert (typing["serverId"], typing["channelId"], typing["userId"]) == (None, dm["id"], str(alice.id))
    await no_event(c, "new_message")
    await no_event(c, "typing_start", wait=0.1)
    await no_event(c, "dm_created", wait=0.1)


async def test_gateway_sends_into_a_blocked_1_1_are_refused(client, alice, bob, friends):
    dm = await open_dm(client, alice, bob, status=201)
    assert (await client.put(f"/chat/users/@me/blocks/{alice.id}", headers=bob.auth)).status == 204
    a = await connect(client, alice)
    await a.send_json({"type": "send_message", "channelId": dm["id"], "text": "x", "nonce": "n"})
    assert await next_event(a, "error") == {"type": "error", "message": "you cannot message this user", "nonce": "n"}


async def test_group_membership_changes_reach_everyone_and_a_removed_one_stops_hearing_at_once(
        client, alice, bob, carol, make_user, add_member):
    await add_member(bob)
    await add_member(carol)
    dave = await make_user("dave")
    await add_member(dave)
    group = await open_dm(client, alice, bob, carol, status=201)
    a, c, d = await connect(client, alice), await connect(client, carol), await connect(client, dave)
    people = f"/chat/dms/{group['id']}/recipients"
    assert (await client.put(f"{people}/{dave.id}", headers=alice.auth)).status == 204
    added = {"type": "dm_recipient_added", "dmId": group["id"], "user": {"id": str(dave.id), "username": "dave"}}
    for ws in (a, c, d):
        assert await next_event(ws, "dm_recipient_added") == added
    joined = await next_event(d, "dm_created")
    assert names(joined["dm"]) == names(group) + ["dave"]
    assert (await client.delete(f"{people}/{carol.id}", headers=alice.auth)).status == 204
    removed = {"type": "dm_recipient_removed", "dmId": group["id"], "userId": str(carol.id), "ownerId": str(alice.id)}
    for ws in (a, c, d):
        assert await next_event(ws, "dm_recipient_removed") == removed
    resp = await client.post(f"/chat/dms/{group['id']}/messages", json={"text": "carol is gone"}, headers=alice.auth)
    assert resp.status == 201
    assert (await next_event(d, "new_message"))["text"] == "carol is gone"
    await no_event(c, "new_message")


async def test_resume_takes_conversations_like_channels(client, alice, bob, server, friends, make_user):
    dm = await open_dm(client, alice, bob, status=201)
    base = f"/chat/dms/{dm['id']}/messages"
    first = await (await client.post(base, json={"text": "one"}, headers=alice.auth)).json()
    await client.post(base, json={"text": "two"}, headers=bob.auth)
    await client.put(f"{base}/{first['id']}/reactions/%F0%9F%91%8D/@me", headers=bob.auth)
    b = await connect(client, bob)
    await b.send_json({"type": "resume", "channels": {dm["id"]: 1, server.general: 0}})
    replayed = [await next_event(b, "new_message"), await next_event(b, "reaction_added")]
    assert [(e["eventSeq"], e["serverId"]) for e in replayed] == [(2, None), (3, None)]
    assert (await next_event(b, "resumed"))["channels"] == {dm["id"]: 3, server.general: 0}
    await b.send_json({"type": "resume", "channelId": dm["id"], "afterSeq": 1})
    assert (await next_event(b, "new_message"))["text"] == "two"
    assert await next_event(b, "resumed") == {"type": "resumed", "serverId": None, "channelId": dm["id"], "seq": 2}
    c = await connect(client, await make_user("dave"))
    await c.send_json({"type": "resume", "channels": {dm["id"]: 0}})
    assert (await next_event(c, "error"))["channelId"] == dm["id"]



async def test_a_dm_change_whose_note_never_arrived_is_caught_up_when_listen_reconnects(
        client, alice, bob, friends, db, app_queries, test_queries):
    dm = await open_dm(client, alice, bob, status=201)
    message = await (await client.post(f"/chat/dms/{dm['id']}/messages", json={"text": "hello"},
                                       headers=alice.auth)).json()
    b = await connect(client, bob)
    async with db.transaction():  # a reaction committed with its note sent where no chatd listens
        assert [row["type"] async for row in app_queries.lock_channels_for_changes(
            db, server_ids=[None], channel_ids=[dm["id"]])] == ["DM"]
        assert [tuple(row) async for row in app_queries.react(
            db, notify_channel="nobody_listens", ords=[1], channel_ids=[dm["id"]], message_ids=[message["id"]],
            emojis=["👍"], user_ids=[alice.id], adds=[True], max_emoji=20)] == [(1, "added")]
    await no_event(b, "reaction_added")
    assert len([row async for row in test_queries.terminate_listeners(db)]) == 1
    event = await next_event(b, "reaction_added", timeout=10)  # read back by the catch-up, by the DM's room
    assert (event["eventSeq"], event["serverId"], event["channelId"]) == (2, None, dm["id"])
