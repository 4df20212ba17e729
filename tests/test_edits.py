"""Editing and deleting messages over REST, with every member's socket receiving the events,
against real PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import asyncpg
import pytest

from chatd.app import create_app
from chatd.config import RateLimit
from chatd.domain import edits, permissions
from chatd.domain.changes import make_change
from chatd.domain.errors import BadInput, Forbidden, NotFound
from chatd.domain.permissions import MessageFacts
from chatd.domain.schemas import User

from test_gateway import connect, next_event, no_event


def messages_url(server, channel_id: str | None = None) -> str:
    return f"{server.url}/channels/{channel_id or server.general}/messages"


async def post(client, server, person, text: str, channel_id: str | None = None) -> dict:
    resp = await client.post(messages_url(server, channel_id), json={"text": text}, headers=person.auth)
    assert resp.status == 201, await resp.text()
    return await resp.json()


def edit(client, server, person, message_id, text: str, channel_id: str | None = None):
    return client.patch(f"{messages_url(server, channel_id)}/{message_id}", json={"text": text}, headers=person.auth)


def socket_edit(server, message_id, text: str, **extra) -> dict:
    return {"type": "edit_message", "serverId": server.id, "channelId": server.general, "messageId": message_id,
            "text": text, **extra}


def delete(client, server, person, message_id, channel_id: str | None = None):
    return client.delete(f"{messages_url(server, channel_id)}/{message_id}", headers=person.auth)


def bulk_delete(client, server, person, ids, channel_id: str | None = None):
    return client.post(f"{messages_url(server, channel_id)}/bulk-delete", json={"ids": [str(i) for i in ids]},
                       headers=person.auth)


def versions(client, server, person, message_id):
    return client.get(f"{messages_url(server)}/{message_id}/edits", headers=person.auth)


async def history(client, server, person) -> list[dict]:
    resp = await client.get(messages_url(server), headers=person.auth)
    assert resp.status == 200
    return await resp.json()


async def changes(client, server, person, after: int = 0) -> list[dict]:
    resp = await client.get(f"{server.url}/channels/{server.general}/changes",
                            params={"after_event_seq": after, "limit": 500}, headers=person.auth)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def refused(resp, status: int, detail: str) -> None:
    assert (resp.status, await resp.json()) == (status, {"detail": detail})


@pytest.fixture
async def members(add_member, bob, carol):
    """bob is a MEMBER of alice's server, carol a MODERATOR."""
    await add_member(bob)
    await add_member(carol, "MODERATOR")


@pytest.fixture
async def voice(client, alice, server) -> str:
    resp = await client.post(f"{server.url}/channels", json={"name": "lounge", "type": "voice"}, headers=alice.auth)
    return (await resp.json())["id"]


@pytest.fixture
async def other_channel(client, alice, server) -> str:
    resp = await client.post(f"{server.url}/channels", json={"name": "news"}, headers=alice.auth)
    return (await resp.json())["id"]


# Edit.


async def test_the_author_edits_and_every_member_receives_message_updated(client, alice, bob, server, members):
    message = await post(client, server, bob, "helo")
    watcher = await connect(client, alice)
    resp = await edit(client, server, bob, message["id"], "  hello  ")
    assert resp.status == 200
    body = await resp.json()
    assert body["edited_at"] is not None
    assert body == {**message, "text": "hello", "edited_at": body["edited_at"]}
    event = await next_event(watcher, "message_updated")
    assert event == {"type": "message_updated", "id": message["id"], "serverId": server.id,
                     "channelId": server.general, "text": "hello", "editedAt": body["edited_at"],
                     "eventSeq": message["event_seq"] + 1, "mentions": [], "mentionEveryone": False}


async def test_history_shows_the_new_text_and_edited_at(client, alice, bob, server, members):
    message = await post(client, server, bob, "first")
    body = await (await edit(client, server, bob, message["id"], "second")).json()
    [shown] = await history(client, server, alice)
    assert (shown["text"], shown["edited_at"]) == ("second", body["edited_at"])
    assert datetime.fromisoformat(shown["edited_at"]) > datetime.fromisoformat(shown["created_at"])


@pytest.mark.parametrize("editor", ["alice", "carol"])  # the ADMIN, a MODERATOR
async def test_editing_another_users_message_is_403_whatever_the_role(
        client, alice, bob, carol, server, members, editor):
    message = await post(client, server, bob, "mine")
    person = {"alice": alice, "carol": carol}[editor]
    await refused(await edit(client, server, person, message["id"], "yours"), 403, "only the author can edit a message")
    assert [m["text"] for m in await history(client, server, bob)] == ["mine"]


async def test_editing_a_deleted_message_is_404(client, bob, server, members):
    message = await post(client, server, bob, "gone soon")
    assert (await delete(client, server, bob, message["id"])).status == 204
    await refused(await edit(client, server, bob, message["id"], "back"), 404, "message not found")


async def test_editing_an_unknown_message_or_one_of_another_channel_is_404(client, alice, server, other_channel):
    elsewhere = await post(client, server, alice, "news", channel_id=other_channel)
    await refused(await edit(client, server, alice, uuid4(), "x"), 404, "message not found")
    await refused(await edit(client, server, alice, elsewhere["id"], "x"), 404, "message not found")
    await refused(await edit(client, server, alice, "not-an-id", "x"), 404, "message_id is not a valid id")


async def test_a_non_member_cannot_edit_delete_or_list_versions_even_their_own_message(
        client, alice, bob, server, members):
    message = await post(client, server, bob, "before leaving")
    assert (await client.delete(f"{server.url}/members/{bob.id}", headers=bob.auth)).status == 204
    await refused(await edit(client, server, bob, message["id"], "x"), 404, "server not found")
    await refused(await delete(client, server, bob, message["id"]), 404, "server not found")
    await refused(await versions(client, server, bob, message["id"]), 404, "server not found")
    await refused(await bulk_delete(client, server, bob, [message["id"]]), 404, "server not found")


async def test_editing_in_a_voice_channel_is_400(client, alice, server, voice):
    await refused(await edit(client, server, alice, uuid4(), "x", channel_id=voice), 400,
                  "this is a VOICE channel: it has no messages")


@pytest.mark.parametrize("text, detail", [
    ("", "text must not be blank"),
    (" \n\t ", "text must not be blank"),
    ("x" * 4001, "text is longer than 4000 characters"),
])
async def test_an_edit_follows_the_text_rules_of_sending(client, alice, server, text, detail):
    message = await post(client, server, alice, "fine")
    await refused(await edit(client, server, alice, message["id"], text), 400, detail)


@pytest.mark.parametrize("body, detail", [
    ({}, "Object missing required field `text`"),
    ({"text": "x", "nonce": "n"}, "Object contains unknown field `nonce`"),
    ({"text": 5}, "Expected `str`, got `int` - at `$.text`"),
])
async def test_a_bad_edit_body_is_400(client, alice, server, body, detail):
    message = await post(client, server, alice, "fine")
    resp = await client.patch(f"{messages_url(server)}/{message['id']}", json=body, headers=alice.auth)
    await refused(resp, 400, detail)


async def test_the_same_text_changes_nothing_and_sends_no_event(
        client, db, test_queries, alice, bob, server, members):
    message = await post(client, server, bob, "same")
    watcher = await connect(client, alice)
    resp = await edit(client, server, bob, message["id"], " same ")
    assert (resp.status, await resp.json()) == (200, message)
    await no_event(watcher, "message_updated")
    assert await test_queries.get_last_event_seq(db, channel_id=server.general) == message["event_seq"]
    assert await test_queries.count_message_edits(db, message_id=message["id"]) == 0


async def test_editing_closes_after_the_edit_window(aiohttp_client, config, db, test_queries, alice, bob, server,
                                                    members):
    client = await aiohttp_client(create_app(replace(config, edit_window=timedelta(minutes=15))))
    young, old = await post(client, server, bob, "young"), await post(client, server, bob, "old")
    await test_queries.age_message(db, message_id=young["id"], seconds=14 * 60)
    await test_queries.age_message(db, message_id=old["id"], seconds=15 * 60 + 1)
    assert (await edit(client, server, bob, young["id"], "still young")).status == 200
    await refused(await edit(client, server, bob, old["id"], "too late"), 403,
                  "a message can be edited for 15m after sending")


async def test_a_tiny_edit_window_closes_editing_within_moments(aiohttp_client, config, alice, server):
    client = await aiohttp_client(create_app(replace(config, edit_window=timedelta(seconds=1))))
    message = await post(client, server, alice, "quick")
    await asyncio.sleep(1.1)
    await refused(await edit(client, server, alice, message["id"], "slow"), 403,
                  "a message can be edited for 1s after sending")


async def test_edits_and_deletions_are_rate_limited_in_a_budget_of_their_own(aiohttp_client, config, alice, server):
    client = await aiohttp_client(create_app(replace(config, rate_limit=RateLimit(2, 60.0))))
    first, second = await post(client, server, alice, "one"), await post(client, server, alice, "two")
    resp = await client.post(messages_url(server), json={"text": "three"}, headers=alice.auth)
    assert resp.status == 429  # sending's budget is spent; changing's is not
    assert (await edit(client, server, alice, first["id"], "uno")).status == 200
    assert (await delete(client, server, alice, second["id"])).status == 204
    resp = await edit(client, server, alice, first["id"], "eins")
    assert resp.status == 429
    assert await resp.json() == {"detail": "you are changing messages too fast"}
    assert int(resp.headers["Retry-After"]) >= 1
    # The same budget over the socket, the wait in the error event.
    ws = await connect(client, alice)
    await ws.send_json(socket_edit(server, first["id"], "un", nonce="e-9"))
    refusal = await next_event(ws, "error")
    assert (refusal["message"], refusal["nonce"]) == ("you are changing messages too fast", "e-9")
    assert refusal["retryAfter"] > 0


async def test_a_long_edit_reaches_sockets_whole(client, alice, bob, server, members):
    """Text too long for NOTIFY's 8000 bytes: the listener reads the stored change."""
    message = await post(client, server, bob, "short")
    watcher = await connect(client, alice)
    text = "ü" * 3000 + "😀" * 1000
    assert (await edit(client, server, bob, message["id"], text)).status == 200
    event = await next_event(watcher, "message_updated")
    assert (event["text"], event["eventSeq"]) == (text, message["event_seq"] + 1)


# Edit over the socket.


async def test_an_edit_over_the_socket_is_the_same_edit_with_the_same_event(client, alice, bob, server, members):
    message = await post(client, server, bob, "helo")
    author, watcher = await connect(client, bob), await connect(client, alice)
    await author.send_json(socket_edit(server, message["id"], "  hello  ", nonce="e-1"))
    events = [await next_event(ws, "message_updated") for ws in (author, watcher)]
    assert events[0] == events[1]
    [shown] = await history(client, server, alice)
    assert events[0] == {"type": "message_updated", "id": message["id"], "serverId": server.id,
                         "channelId": server.general, "text": "hello", "editedAt": shown["edited_at"],
                         "eventSeq": message["event_seq"] + 1, "mentions": [], "mentionEveryone": False}
    assert shown["text"] == "hello"
    assert [v["text"] for v in await (await versions(client, server, bob, message["id"])).json()] == ["helo"]


async def test_a_socket_edit_of_a_conversation_message_needs_no_server_id(client, alice, bob, server, members):
    resp = await client.post("/chat/dms", json={"recipient_ids": [str(bob.id)]}, headers=alice.auth)
    dm = await resp.json()
    resp = await client.post(f"/chat/dms/{dm['id']}/messages", json={"text": "hi bob"}, headers=alice.auth)
    message = await resp.json()
    author = await connect(client, alice)
    await author.send_json({"type": "edit_message", "channelId": dm["id"], "messageId": message["id"],
                            "text": "hi Bob"})
    event = await next_event(author, "message_updated")
    assert (event["id"], event["serverId"], event["channelId"], event["text"]) == (message["id"], None, dm["id"],
                                                                                   "hi Bob")


async def test_a_refused_socket_edit_is_an_error_event_with_its_nonce_and_the_socket_stays_open(
        client, alice, bob, carol, server, members):
    message = await post(client, server, bob, "mine")
    gone = await post(client, server, alice, "gone soon")
    assert (await delete(client, server, alice, gone["id"])).status == 204
    a = await connect(client, alice)
    for frame, detail in [
        (socket_edit(server, message["id"], "yours"), "only the author can edit a message"),
        (socket_edit(server, gone["id"], "back"), "message not found"),
        (socket_edit(server, str(uuid4()), "x"), "message not found"),
        (socket_edit(server, message["id"], "   "), "text must not be blank"),
        ({**socket_edit(server, message["id"], "x"), "channelId": str(uuid4())}, "channel not found"),
    ]:
        await a.send_json({**frame, "nonce": "n-7"})
        assert await next_event(a, "error") == {"type": "error", "message": detail, "nonce": "n-7"}
    await a.send_json({"type": "edit_message", "serverId": server.id, "channelId": server.general})
    assert (await next_event(a, "error"))["message"].startswith("invalid edit_message frame: Object missing required")
    await no_event(a, "message_updated", wait=0.2)
    assert [m["text"] for m in await history(client, server, bob)] == ["mine"]
    await a.send_json({"type": "send_message", "serverId": server.id, "channelId": server.general, "text": "still here"})
    assert (await next_event(a, "new_message"))["text"] == "still here"


async def test_a_non_member_editing_over_the_socket_is_told_server_not_found(client, alice, bob, server):
    message = await post(client, server, alice, "members only")
    b = await connect(client, bob)
    await b.send_json(socket_edit(server, message["id"], "let me in"))
    assert (await next_event(b, "error"))["message"] == "server not found"


# Earlier versions.


async def test_earlier_versions_are_listed_oldest_first(client, bob, server, members):
    message = await post(client, server, bob, "v1")
    one = await (await edit(client, server, bob, message["id"], "v2")).json()
    two = await (await edit(client, server, bob, message["id"], "v3")).json()
    resp = await versions(client, server, bob, message["id"])
    assert resp.status == 200
    assert await resp.json() == [
        {"text": "v1", "written_at": message["created_at"], "replaced_at": one["edited_at"]},
        {"text": "v2", "written_at": one["edited_at"], "replaced_at": two["edited_at"]},
    ]


async def test_a_message_never_edited_has_no_earlier_versions(client, alice, server):
    message = await post(client, server, alice, "as sent")
    resp = await versions(client, server, alice, message["id"])
    assert (resp.status, await resp.json()) == (200, [])


async def test_moderators_and_admins_read_earlier_versions_members_do_not(
        client, alice, bob, carol, make_user, add_member, server, members):
    dave = await make_user("dave")
    await add_member(dave)
    message = await post(client, server, bob, "v1")
    assert (await edit(client, server, bob, message["id"], "v2")).status == 200
    for person in (alice, carol):
        resp = await versions(client, server, person, message["id"])
        assert (resp.status, [v["text"] for v in await resp.json()]) == (200, ["v1"])
    await refused(await versions(client, server, dave, message["id"]), 403,
                  "only a MODERATOR or ADMIN can see the earlier versions of another user's message")


async def test_versions_of_an_unknown_or_deleted_message_are_404(client, alice, server):
    message = await post(client, server, alice, "v1")
    await refused(await versions(client, server, alice, uuid4()), 404, "message not found")
    assert (await delete(client, server, alice, message["id"])).status == 204
    await refused(await versions(client, server, alice, message["id"]), 404, "message not found")


# Delete.


async def test_the_author_deletes_and_every_member_receives_message_deleted(client, alice, bob, server, members):
    message = await post(client, server, bob, "oops")
    watcher = await connect(client, alice)
    resp = await delete(client, server, bob, message["id"])
    assert (resp.status, await resp.read()) == (204, b"")
    event = await next_event(watcher, "message_deleted")
    assert event == {"type": "message_deleted", "id": message["id"], "serverId": server.id,
                     "channelId": server.general, "eventSeq": message["event_seq"] + 1}
    assert await history(client, server, alice) == []


@pytest.mark.parametrize("deleter", ["alice", "carol"])  # the ADMIN, a MODERATOR
async def test_moderators_and_admins_delete_anyones_message(client, alice, bob, carol, server, members, deleter):
    message = await post(client, server, bob, "rude")
    assert (await delete(client, server, {"alice": alice, "carol": carol}[deleter], message["id"])).status == 204
    assert await history(client, server, bob) == []


async def test_a_member_cannot_delete_another_users_message(client, alice, bob, server, members):
    message = await post(client, server, alice, "the rules")
    await refused(await delete(client, server, bob, message["id"]), 403,
                  "only a MODERATOR or ADMIN can delete another user's message")
    assert [m["text"] for m in await history(client, server, bob)] == ["the rules"]


async def test_deleting_twice_unknown_or_another_channels_message_is_404(client, alice, server, other_channel):
    message = await post(client, server, alice, "once")
    elsewhere = await post(client, server, alice, "news", channel_id=other_channel)
    assert (await delete(client, server, alice, message["id"])).status == 204
    await refused(await delete(client, server, alice, message["id"]), 404, "message not found")
    await refused(await delete(client, server, alice, uuid4()), 404, "message not found")
    await refused(await delete(client, server, alice, elsewhere["id"]), 404, "message not found")


async def test_a_deletion_leaves_no_copy_of_the_text_and_no_reactions(
        client, db, test_queries, alice, bob, server, members):
    message = await post(client, server, bob, "secret-one")
    for text in ("secret-two", "secret-three"):
        assert (await edit(client, server, bob, message["id"], text)).status == 200
    await test_queries.add_reaction(db, channel_id=server.general, message_id=message["id"], emoji="👍",
                                    user_id=alice.id)
    assert dict(await test_queries.copies_of_text(db, text="secret")) == {"messages": 1, "edits": 2, "changes": 2}

    assert (await delete(client, server, bob, message["id"])).status == 204

    assert dict(await test_queries.copies_of_text(db, text="secret")) == {"messages": 0, "edits": 0, "changes": 0}
    stored = await test_queries.get_stored_message(db, message_id=message["id"])
    assert (stored["text"], stored["deleted_at"] is not None, stored["seq"]) == ("", True, message["seq"])
    assert await test_queries.count_message_reactions(db, message_id=message["id"]) == 0
    # The stored changes replay the edits with their text erased, then the deletion.
    assert [(e["type"], e.get("text")) for e in await changes(client, server, alice)] == [
        ("new_message", ""), ("message_updated", ""), ("message_updated", ""), ("message_deleted", None)]


async def test_a_reply_to_a_deleted_message_shows_it_deleted_with_no_text(client, alice, bob, server, members):
    message = await post(client, server, bob, "the original")
    resp = await client.post(messages_url(server), json={"text": "re", "reply_to": message["id"]}, headers=alice.auth)
    assert resp.status == 201
    assert (await delete(client, server, bob, message["id"])).status == 204
    [reply] = await history(client, server, alice)
    assert reply["reply_to"] == {"id": message["id"], "user_id": str(bob.id), "user": "bob", "text": "",
                                 "deleted": True}


# Bulk delete.


async def test_a_moderator_bulk_deletes_with_one_event(client, alice, bob, carol, server, members):
    sent = [await post(client, server, bob, f"spam {i}") for i in range(3)]
    keep = await post(client, server, bob, "fine")
    watcher = await connect(client, alice)
    ids = [m["id"] for m in sent]
    resp = await bulk_delete(client, server, carol, ids)
    assert (resp.status, await resp.read()) == (204, b"")
    event = await next_event(watcher, "messages_deleted")
    assert event == {"type": "messages_deleted", "ids": sorted(ids), "serverId": server.id,
                     "channelId": server.general, "eventSeq": keep["event_seq"] + 1}
    await no_event(watcher, "messages_deleted")
    assert [m["text"] for m in await history(client, server, alice)] == ["fine"]


async def test_a_bulk_deletion_skips_deleted_ids_and_sends_nothing_when_none_are_left(
        client, db, test_queries, alice, server):
    first, second = await post(client, server, alice, "a"), await post(client, server, alice, "b")
    assert (await delete(client, server, alice, first["id"])).status == 204
    watcher = await connect(client, alice)
    assert (await bulk_delete(client, server, alice, [first["id"], second["id"]])).status == 204
    assert (await next_event(watcher, "messages_deleted"))["ids"] == [second["id"]]
    seq = await test_queries.get_last_event_seq(db, channel_id=server.general)
    assert (await bulk_delete(client, server, alice, [first["id"], second["id"]])).status == 204
    await no_event(watcher, "messages_deleted")
    assert await test_queries.get_last_event_seq(db, channel_id=server.general) == seq


async def test_a_bulk_deletion_erases_every_copy_of_the_texts(client, db, test_queries, alice, bob, server, members):
    one, two = await post(client, server, bob, "hidden-1"), await post(client, server, bob, "hidden-2")
    assert (await edit(client, server, bob, one["id"], "hidden-1b")).status == 200
    assert (await bulk_delete(client, server, alice, [one["id"], two["id"]])).status == 204
    assert dict(await test_queries.copies_of_text(db, text="hidden")) == {"messages": 0, "edits": 0, "changes": 0}


async def test_a_member_cannot_bulk_delete_even_their_own_messages(client, bob, server, members):
    message = await post(client, server, bob, "mine")
    await refused(await bulk_delete(client, server, bob, [message["id"]]), 403,
                  "only a MODERATOR or ADMIN can bulk-delete messages")


@pytest.mark.parametrize("count, detail", [
    (0, "Expected `array` of length >= 1 - at `$.ids`"),
    (101, "Expected `array` of length <= 100 - at `$.ids`"),
])
async def test_bulk_deleting_0_or_over_100_ids_is_400(client, alice, server, count, detail):
    await refused(await bulk_delete(client, server, alice, [uuid4() for _ in range(count)]), 400, detail)


async def test_bulk_deleting_100_ids_deletes_them_all(client, db, test_queries, alice, server):
    ids = [(await post(client, server, alice, f"m{i}"))["id"] for i in range(100)]
    assert (await bulk_delete(client, server, alice, ids)).status == 204
    assert await history(client, server, alice) == []
    [change] = [c for c in await changes(client, server, alice) if c["type"] == "messages_deleted"]
    assert change["ids"] == sorted(ids)


async def test_bulk_deleting_ids_of_another_channel_or_unknown_ids_is_400_and_deletes_nothing(
        client, alice, server, other_channel):
    here = await post(client, server, alice, "here")
    elsewhere = await post(client, server, alice, "there", channel_id=other_channel)
    await refused(await bulk_delete(client, server, alice, [here["id"], elsewhere["id"]]), 400,
                  "ids must all be messages of this channel: 1 of them is not")
    await refused(await bulk_delete(client, server, alice, [here["id"], uuid4(), uuid4()]), 400,
                  "ids must all be messages of this channel: 2 of them are not")
    assert [m["text"] for m in await history(client, server, alice)] == ["here"]


async def test_bulk_deleting_a_repeated_id_is_400(client, alice, server):
    message = await post(client, server, alice, "once")
    await refused(await bulk_delete(client, server, alice, [message["id"], message["id"]]), 400,
                  "ids must not repeat an id")


async def test_bulk_deleting_in_a_voice_channel_is_400(client, alice, server, voice):
    await refused(await bulk_delete(client, server, alice, [uuid4()], channel_id=voice), 400,
                  "this is a VOICE channel: it has no messages")


@pytest.mark.parametrize("body, detail", [
    ({}, "Object missing required field `ids`"),
    ({"ids": ["nope"]}, "Invalid UUID - at `$.ids[0]`"),
    ({"ids": "x"}, "Expected `array`, got `str` - at `$.ids`"),
])
async def test_a_bad_bulk_delete_body_is_400(client, alice, server, body, detail):
    resp = await client.post(f"{messages_url(server)}/bulk-delete", json=body, headers=alice.auth)
    await refused(resp, 400, detail)


# The change stream.


async def test_changes_and_a_resume_replay_edits_and_deletions_in_order(client, alice, bob, server, members):
    first = await post(client, server, bob, "one")
    second = await post(client, server, bob, "two")
    edited = await (await edit(client, server, bob, first["id"], "uno")).json()
    assert (await delete(client, server, bob, second["id"])).status == 204
    third = await post(client, server, bob, "three")
    assert (await bulk_delete(client, server, alice, [third["id"]])).status == 204
    base = first["event_seq"]
    expected = [
        {"type": "message_updated", "id": first["id"], "serverId": server.id, "channelId": server.general,
         "text": "uno", "editedAt": edited["edited_at"], "eventSeq": base + 2, "mentions": [],
         "mentionEveryone": False},
        {"type": "message_deleted", "id": second["id"], "serverId": server.id, "channelId": server.general,
         "eventSeq": base + 3},
        ("new_message", base + 4),
        {"type": "messages_deleted", "ids": [third["id"]], "serverId": server.id, "channelId": server.general,
         "eventSeq": base + 5},
    ]

    def shaped(events):
        return [(e["type"], e["eventSeq"]) if e["type"] == "new_message" else e for e in events]

    assert shaped(await changes(client, server, alice, after=base + 1)) == expected
    ws = await connect(client, alice)
    await ws.send_json({"type": "resume", "channels": {server.general: base + 1}})
    replayed = []
    while (event := await ws.receive_json(timeout=5))["type"] != "resumed":
        replayed.append(event)
    assert shaped(replayed) == expected
    assert event == {"type": "resumed", "channels": {server.general: base + 5}}


async def test_concurrent_edits_and_a_delete_leave_a_gapless_stream_and_a_consistent_message(
        client, db, test_queries, alice, bob, server, members):
    message = await post(client, server, bob, "v0")
    watcher = await connect(client, alice)
    edits = [edit(client, server, bob, message["id"], f"v{i}") for i in range(1, 31)]
    deletion = delete(client, server, alice, message["id"])
    responses = await asyncio.gather(*edits[:15], deletion, *edits[15:])
    statuses = [r.status for r in responses]
    assert statuses[15] == 204
    assert set(statuses) <= {200, 204, 404}
    applied = statuses.count(200)

    stream = await changes(client, server, alice, after=message["event_seq"])
    assert [c["eventSeq"] for c in stream] == list(range(message["event_seq"] + 1, message["event_seq"] + 2 + applied))
    assert [c["type"] for c in stream] == ["message_updated"] * applied + ["message_deleted"]
    assert all(c["text"] == "" for c in stream[:-1])
    live = [await next_event(watcher, t) for t in ["message_updated"] * applied + ["message_deleted"]]
    assert [e["eventSeq"] for e in live] == [c["eventSeq"] for c in stream]
    stored = await test_queries.get_stored_message(db, message_id=message["id"])
    assert (stored["text"], stored["deleted_at"] is not None) == ("", True)
    assert await test_queries.count_message_edits(db, message_id=message["id"]) == 0
    assert await test_queries.get_last_event_seq(db, channel_id=server.general) == stream[-1]["eventSeq"]


async def test_concurrent_edits_keep_every_version_in_order(client, bob, server, members):
    message = await post(client, server, bob, "v0")
    responses = await asyncio.gather(*(edit(client, server, bob, message["id"], f"v{i}") for i in range(1, 21)))
    assert [r.status for r in responses] == [200] * 20
    final = (await (await versions(client, server, bob, message["id"])).json())
    assert len(final) == 20
    assert all(a["replaced_at"] == b["written_at"] for a, b in zip(final, final[1:]))
    assert all(a["replaced_at"] < b["replaced_at"] for a, b in zip(final, final[1:]))
    assert final[0] == {"text": "v0", "written_at": message["created_at"], "replaced_at": final[0]["replaced_at"]}


# The rules, as pure functions.

ME, OTHER = uuid4(), uuid4()
USER = User(ME, "me")


def facts(role="MEMBER", channel_type="TEXT", author_id=ME, deleted=False, age=timedelta(0)) -> MessageFacts:
    return MessageFacts(role, channel_type, author_id, deleted, age)


@pytest.mark.parametrize("case, error", [
    (facts(role=None), NotFound),
    (facts(channel_type=None), NotFound),
    (facts(channel_type="VOICE"), BadInput),
    (facts(author_id=None), NotFound),
    (facts(deleted=True), NotFound),
    (facts(author_id=OTHER, role="ADMIN"), Forbidden),
    (facts(age=timedelta(minutes=16)), Forbidden),
    (facts(age=timedelta(minutes=15)), None),
])
def test_check_edit(case, error):
    if error is None:
        permissions.check_edit(USER, case, timedelta(minutes=15))
    else:
        with pytest.raises(error):
            permissions.check_edit(USER, case, timedelta(minutes=15))


def test_without_a_window_a_message_is_editable_at_any_age():
    permissions.check_edit(USER, facts(age=timedelta(days=3650)), None)


@pytest.mark.parametrize("role, author, allowed", [
    ("MEMBER", ME, True), ("MEMBER", OTHER, False), ("MODERATOR", OTHER, True), ("ADMIN", OTHER, True),
])
def test_check_delete_and_check_read_edits(role, author, allowed):
    for check in (permissions.check_delete, permissions.check_read_edits):
        if allowed:
            check(USER, facts(role=role, author_id=author))
        else:
            with pytest.raises(Forbidden):
                check(USER, facts(role=role, author_id=author))


@pytest.mark.parametrize("window, text", [
    (timedelta(seconds=90), "90s"), (timedelta(minutes=15), "15m"), (timedelta(hours=12), "12h"),
    (timedelta(days=30), "30d"), (timedelta(hours=36), "36h"), (timedelta(seconds=1), "1s"),
])
def test_a_window_is_named_as_it_is_configured(window, text):
    assert permissions.duration_text(window) == text



async def test_changes_that_arrive_together_commit_together_each_with_its_own_answer(client, alice, server, db,
                                                                                    lock_waiters, test_queries):
    """Changes queued while a batch waits go in the next batch, one transaction; each gets its
    own answer: an edit of a message deleted meanwhile is a 404, its neighbours' are 200."""
    second = (await (await client.post(f"{server.url}/channels", json={"name": "second"},
                                       headers=alice.auth)).json())["id"]
    first, gone, elsewhere = [await post(client, server, alice, t) for t in ("first", "gone")] + \
        [await post(client, server, alice, "elsewhere", second)]
    async with db.transaction():
        await test_queries.hold_channel_row(db, channel_id=server.general)
        waiting = asyncio.ensure_future(edit(client, server, alice, first["id"], "first, edited"))
        await lock_waiters(1)
        together = [asyncio.ensure_future(edit(client, server, alice, gone["id"], "too late")),
                    asyncio.ensure_future(edit(client, server, alice, elsewhere["id"], "edited", second)),
                    asyncio.ensure_future(edit(client, server, alice, first["id"], "first, again"))]
        await asyncio.sleep(0.3)  # their permission checks passed: they wait for the batch in flight
        await test_queries.mark_message_deleted(db, message_id=gone["id"])
        assert not any(t.done() for t in (waiting, *together))
    assert (await waiting).status == 200
    assert [r.status for r in await asyncio.gather(*together)] == [404, 200, 200]
    assert [m["text"] for m in await history(client, server, alice)][-1:] == ["first, again"]


async def test_a_change_whose_caller_went_away_is_made_and_does_not_stall_the_next(client, alice, server, db,
                                                                                   lock_waiters, test_queries):
    """A caller cancelled while its change waits for the batch in flight: the change is made
    with its batch (like a send whose client hung up), and the changes after it are not held up."""
    message = await post(client, server, alice, "one")
    me = User(user_id=alice.id, username=alice.name)
    async with db.transaction():
        await test_queries.hold_channel_row(db, channel_id=server.general)
        first = asyncio.ensure_future(edit(client, server, alice, message["id"], "two"))
        await lock_waiters(1)
        abandoned = asyncio.ensure_future(edits.edit_message(
            client.app, me, UUID(server.id), UUID(server.general), UUID(message["id"]), "three"))
        await asyncio.sleep(0.1)
        abandoned.cancel()
    assert (await asyncio.wait_for(first, 5)).status == 200
    assert (await asyncio.wait_for(edit(client, server, alice, message["id"], "four"), 5)).status == 200
    assert [v["text"] for v in await (await versions(client, server, alice, message["id"])).json()] == \
        ["one", "two", "three"]


async def test_a_change_the_database_refuses_fails_alone_and_the_rest_of_its_batch_is_made(
        client, alice, server, db, lock_waiters, test_queries):
    """A statement refused (here a NUL byte, which REST refuses before and a domain caller
    could still pass) costs its batch one retry: each change then goes alone, and only the
    refused one fails."""
    one, two, three = [await post(client, server, alice, text) for text in ("one", "two", "three")]
    async with db.transaction():
        await test_queries.hold_channel_row(db, channel_id=server.general)
        held = asyncio.ensure_future(edit(client, server, alice, one["id"], "one, edited"))
        await lock_waiters(1)
        refused = asyncio.ensure_future(make_change(client.app, edits.EDIT, UUID(server.id), UUID(server.general),
                                                    message_id=UUID(two["id"]), text="nul \x00",
                                                    user_id=alice.id, window=None))
        made = asyncio.ensure_future(edit(client, server, alice, three["id"], "three, edited"))
        await asyncio.sleep(0.3)  # both wait for the held batch: they go together
    assert (await held).status == 200
    with pytest.raises(asyncpg.PostgresError):
        await refused
    assert (await made).status == 200
    assert [m["text"] for m in await history(client, server, alice)] == ["one, edited", "two", "three, edited"]
