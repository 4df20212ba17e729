"""The change stream: eventSeq on every change, replies, resume of many channels in one frame,
GET .../changes, and retention — against real PostgreSQL and real WebSocket clients."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from uuid import uuid4

import aiosql
import pytest

from chatd import keys
from chatd.app import create_app
from chatd.ops.sweeps import sweep_changes
from tests.conftest import TEST_SQL
from tests.test_gateway import connect, next_event, no_event, send

change_queries = aiosql.from_path(TEST_SQL / "changes.sql", "asyncpg")


async def post(client, server, person, text, channel=None, **extra):
    url = f"{server.url}/channels/{channel or server.general}/messages"
    resp = await client.post(url, json={"text": text, **extra}, headers=person.auth)
    return resp


async def new_channel(client, server, person, name="second") -> str:
    resp = await client.post(f"{server.url}/channels", json={"name": name}, headers=person.auth)
    assert resp.status == 201
    return (await resp.json())["id"]


async def events_until(ws, kind: str, timeout: float = 5.0) -> list[dict]:
    """Every event up to and including the first of `kind`."""
    events = []
    while True:
        event = await ws.receive_json(timeout=timeout)
        events.append(event)
        if event["type"] == kind:
            return events


# eventSeq

async def test_every_message_takes_the_channels_next_event_seq(client, alice, server):
    a = await connect(client, alice)
    bodies = [await (await post(client, server, alice, f"m{i}")).json() for i in range(3)]
    assert [(b["seq"], b["event_seq"]) for b in bodies] == [(1, 1), (2, 2), (3, 3)]
    events = [await next_event(a, "new_message") for _ in range(3)]
    assert [e["eventSeq"] for e in events] == [1, 2, 3]
    second = await new_channel(client, server, alice)
    body = await (await post(client, server, alice, "elsewhere", channel=second)).json()
    assert body["event_seq"] == 1  # each channel counts its own


# Replies

async def test_a_reply_carries_a_preview_of_what_it_replies_to(client, alice, bob, server, add_member):
    await add_member(bob)
    b = await connect(client, bob)
    original = await (await post(client, server, alice, "x" * 300)).json()
    resp = await post(client, server, bob, "agreed", reply_to=original["id"])
    assert resp.status == 201
    reply = await resp.json()
    preview = {"id": original["id"], "user_id": str(alice.id), "user": "alice", "text": "x" * 200, "deleted": False}
    assert reply["reply_to"] == preview
    history = await (await client.get(f"{server.url}/channels/{server.general}/messages", headers=bob.auth)).json()
    assert [m["reply_to"] for m in history] == [None, preview]
    await next_event(b, "new_message")
    event = await next_event(b, "new_message")
    assert event["replyTo"] == {"id": original["id"], "userId": str(alice.id), "user": "alice",
                                "text": "x" * 200, "deleted": False}


async def test_a_reply_over_the_socket_names_what_it_replies_to(client, alice, server):
    original = await (await post(client, server, alice, "question")).json()
    a = await connect(client, alice)
    await a.send_json(send(server, "answer", replyTo=original["id"], nonce="r-1"))
    event = await next_event(a, "new_message")
    assert (event["text"], event["replyTo"]["id"], event["replyTo"]["text"]) == ("answer", original["id"], "question")
    assert "replyTo" not in (await (await post(client, server, alice, "plain")).json())  # REST: reply_to null
    await a.send_json(send(server, "to nothing", replyTo=str(uuid4()), nonce="r-2"))
    error = await next_event(a, "error")
    assert error == {"type": "error", "message": "reply_to is not a message of this channel", "nonce": "r-2"}


async def test_a_reply_to_another_channels_message_is_400(client, alice, server):
    second = await new_channel(client, server, alice)
    elsewhere = await (await post(client, server, alice, "there", channel=second)).json()
    for target in (elsewhere["id"], str(uuid4())):
        resp = await post(client, server, alice, "here", reply_to=target)
        assert resp.status == 400
        assert await resp.json() == {"detail": "reply_to is not a message of this channel"}
    resp = await post(client, server, alice, "here", reply_to="not-a-uuid")
    assert resp.status == 400


# Resume of many channels in one frame

async def test_resume_replays_every_channel_after_its_cursor_then_resumed_then_live(client, alice, server):
    second = await new_channel(client, server, alice)
    for i in range(1, 6):
        await post(client, server, alice, f"g{i}")
        await post(client, server, alice, f"s{i}", channel=second)
    a = await connect(client, alice)
    await a.send_json({"type": "resume", "channels": {server.general: 2, second: 0}})
    events = await events_until(a, "resumed")
    replayed = [(e["channelId"], e["eventSeq"], e["text"]) for e in events if e["type"] == "new_message"]
    assert [r for r in replayed if r[0] == server.general] == [(server.general, i, f"g{i}") for i in range(3, 6)]
    assert [r for r in replayed if r[0] == second] == [(second, i, f"s{i}") for i in range(1, 6)]
    assert events[-1] == {"type": "resumed", "channels": {server.general: 5, second: 5}}
    await a.send_json(send(server, "live"))
    assert (await next_event(a, "new_message"))["eventSeq"] == 6


async def test_a_resume_replays_every_kind_of_change_byte_for_byte_as_it_was_delivered_live(client, alice, server):
    """A replay builds the events of changes other than new messages straight from their stored
    JSON: the frames must still be the live ones, emoji, escapes and lists of ids included."""
    live = await connect(client, alice)
    messages = f"{server.url}/channels/{server.general}/messages"
    ids = [(await (await post(client, server, alice, text)).json())["id"] for text in ("one", "two", "three", "four", "five")]
    reactions = f"{messages}/{ids[0]}/reactions"
    for emoji in ("%F0%9F%91%8D", "%E2%9D%A4%EF%B8%8F"):  # 👍, and ❤️ with its variation selector
        assert (await client.put(f"{reactions}/{emoji}/@me", headers=alice.auth)).status == 204
    assert (await client.delete(f"{reactions}/%F0%9F%91%8D/@me", headers=alice.auth)).status == 204
    assert (await client.delete(reactions, headers=alice.auth)).status == 204
    edit = {"text": 'tab\t, quote ", backslash \\, é, 😀, \u2028'}
    assert (await client.patch(f"{messages}/{ids[1]}", json=edit, headers=alice.auth)).status == 200
    assert (await client.patch(f"{messages}/{ids[2]}", json={"text": "erased"}, headers=alice.auth)).status == 200
    assert (await client.delete(f"{messages}/{ids[2]}", headers=alice.auth)).status == 204  # erases its edit's text
    resp = await client.post(f"{messages}/bulk-delete", json={"ids": ids[3:]}, headers=alice.auth)
    assert resp.status == 204
    delivered = {}
    while len(delivered) < 13:
        text = await live.receive_str(timeout=5)
        if '"eventSeq"' in text:
            delivered[json.loads(text)["eventSeq"]] = text
    resumed = await connect(client, alice)
    await resumed.send_json({"type": "resume", "channels": {server.general: 0}})
    replayed = [await resumed.receive_str(timeout=5) for _ in range(13)]
    assert json.loads(await resumed.receive_str(timeout=5)) == {"type": "resumed", "channels": {server.general: 13}}
    expected = [delivered[seq] for seq in range(1, 14)]
    expected[10] = expected[10].replace('"text":"erased"', '"text":""')  # as the deletion left it
    # New messages replay as they are now (edited, deleted): the first is as it was sent.
    assert [json.loads(text)["type"] for text in replayed[5:]] == [
        "reaction_added", "reaction_added", "reaction_removed", "reactions_cleared", "message_updated",
        "message_updated", "message_deleted", "messages_deleted"]
    assert replayed[5:] == expected[5:]
    assert replayed[0] == expected[0]


async def test_a_resume_replays_a_new_message_with_a_nonce_a_reply_and_mentions_byte_for_byte(
        client, alice, bob, server, add_member):
    """A replayed new message is built from its row's columns, not from its note: what a live
    client got, its optional fields included."""
    await add_member(bob)
    live = await connect(client, alice)
    first = await (await post(client, server, alice, "first")).json()
    await post(client, server, alice, f"for <@{bob.id}> and @everyone", nonce="n-1", reply_to=first["id"])
    delivered = []
    while len(delivered) < 2:
        text = await live.receive_str(timeout=5)
        if text.startswith('{"type":"new_message"'):
            delivered.append(text)
    assert '"nonce":"n-1","replyTo":{' in delivered[1] and '"mentionEveryone":true' in delivered[1]
    resumed = await connect(client, alice)
    await resumed.send_json({"type": "resume", "channels": {server.general: 0}})
    assert [await resumed.receive_str(timeout=5) for _ in range(2)] == delivered


async def test_a_resume_of_a_channel_with_nothing_new_answers_its_cursor(client, alice, server):
    await post(client, server, alice, "one")
    a = await connect(client, alice)
    await a.send_json({"type": "resume", "channels": {server.general: 1}})
    assert await a.receive_json(timeout=5) == {"type": "resumed", "channels": {server.general: 1}}


async def test_changes_committed_during_a_replay_arrive_once_in_order(client, alice, server, db, lock_waiters):
    for i in range(1, 4):
        await post(client, server, alice, f"before {i}")
    a = await connect(client, alice)
    async with db.transaction():
        await change_queries.lock_changes(db)
        await a.send_json({"type": "resume", "channels": {server.general: 0}})
        await lock_waiters(1)  # the replay waits for the stream
        for i in range(1, 4):
            await post(client, server, alice, f"during {i}")
    events = await events_until(a, "resumed")
    await asyncio.sleep(0.3)
    await a.send_json(send(server, "after"))
    events += await events_until(a, "new_message")
    while True:  # whatever else is already on its way
        try:
            events.append(await a.receive_json(timeout=0.3))
        except asyncio.TimeoutError:
            break
    seqs = [e["eventSeq"] for e in events if e["type"] == "new_message"]
    assert seqs == list(range(1, 8)), events


async def test_changes_committed_while_a_resume_reads_its_channels_arrive_after_the_replay(
        client, alice, server, db, lock_waiters):
    await post(client, server, alice, "before")
    a = await connect(client, alice)
    async with db.transaction():
        await change_queries.lock_horizons(db)
        await a.send_json({"type": "resume", "channels": {server.general: 0}})
        await lock_waiters(1)  # the resume waits to learn which channels it may replay
        await post(client, server, alice, "during")
    events = await events_until(a, "resumed")
    assert [(e["type"], e.get("eventSeq")) for e in events] == [("new_message", 1), ("new_message", 2),
                                                                 ("resumed", None)]
    assert events[-1]["channels"] == {server.general: 2}
    await no_event(a, "new_message")  # the live copy of the second was held, and dropped


async def test_a_resume_names_channels_it_cannot_read_without_saying_why(client, alice, bob, server):
    theirs = await client.post("/chat/servers", json={"name": "Bob's"}, headers=bob.auth)
    bob_channels = await (await client.get(f"/chat/servers/{(await theirs.json())['id']}/channels",
                                           headers=bob.auth)).json()
    a = await connect(client, alice)
    unknown = str(uuid4())
    await a.send_json({"type": "resume", "channels": {bob_channels[0]["id"]: 0, unknown: 0, server.general: 0}})
    errors = [await a.receive_json(timeout=5), await a.receive_json(timeout=5)]
    assert sorted(e["channelId"] for e in errors) == sorted([bob_channels[0]["id"], unknown])
    assert {e["message"] for e in errors} == {"channel not found"}
    assert await next_event(a, "resumed") == {"type": "resumed", "channels": {server.general: 0}}


@pytest.mark.parametrize("channels, message", [
    ({str(uuid4()): 0 for _ in range(1001)}, "Expected `object` of length <= 1000"),
    ({"not-a-uuid": 0}, "Invalid UUID"),
    ({str(uuid4()): -1}, "Expected `int` >= 0"),
])
async def test_a_bad_resume_map_is_an_error_event_and_the_socket_stays_open(client, alice, server, channels, message):
    a = await connect(client, alice)
    await a.send_json({"type": "resume", "channels": channels})
    error = await next_event(a, "error")
    assert error["message"].startswith("invalid resume frame: ") and message in error["message"], error
    await a.send_json(send(server, "still here"))
    assert (await next_event(a, "new_message"))["text"] == "still here"


async def test_a_resume_frame_needs_channels_or_the_original_fields(client, alice):
    a = await connect(client, alice)
    await a.send_json({"type": "resume", "serverId": str(uuid4())})
    error = await next_event(a, "error")
    assert "a resume names `channels`, or `serverId`, `channelId` and `afterSeq`" in error["message"]


# GET .../changes

async def test_rest_changes_are_the_events_a_socket_got(client, alice, bob, server, add_member):
    await add_member(bob)
    b = await connect(client, bob)
    await post(client, server, alice, "one", nonce="n-1")
    await post(client, server, alice, "two", reply_to=(await (await post(client, server, alice, "zero")).json())["id"])
    live = [await next_event(b, "new_message") for _ in range(3)]
    url = f"{server.url}/channels/{server.general}/changes"
    resp = await client.get(url, headers=bob.auth)
    assert resp.status == 200
    assert await resp.json() == live  # bob's socket is in UTC, like REST
    page = await (await client.get(url, params={"after_event_seq": 1, "limit": 1}, headers=bob.auth)).json()
    assert [e["eventSeq"] for e in page] == [2]


async def test_rest_changes_are_404_for_non_members_and_400_for_bad_cursors(client, alice, bob, server):
    url = f"{server.url}/channels/{server.general}/changes"
    resp = await client.get(url, headers=bob.auth)
    assert (resp.status, await resp.json()) == (404, {"detail": "server not found"})
    resp = await client.get(url, params={"after_event_seq": "-1"}, headers=alice.auth)
    assert resp.status == 400
    resp = await client.get(url, params={"limit": "0"}, headers=alice.auth)
    assert resp.status == 400


# Retention

async def test_changes_past_retention_are_pruned_and_an_older_cursor_must_reload(client, alice, server, db):
    await post(client, server, alice, "kept")  # event_seq 1
    await change_queries.add_old_change(db, channel_id=server.general, days=31)  # event_seq 2
    await post(client, server, alice, "newer")  # event_seq 3
    await sweep_changes(client.app)
    assert await change_queries.count_changes(db, channel_id=server.general) == 0
    url = f"{server.url}/channels/{server.general}/changes"
    resp = await client.get(url, params={"after_event_seq": 1}, headers=alice.auth)
    assert resp.status == 410
    assert "no longer kept" in (await resp.json())["detail"]
    resp = await client.get(url, params={"after_event_seq": 2}, headers=alice.auth)
    assert [e["eventSeq"] for e in await resp.json()] == [3]
    a = await connect(client, alice)
    await a.send_json({"type": "resume", "channels": {server.general: 1}})
    assert await a.receive_json(timeout=5) == {"type": "resync_required", "channelId": server.general}
    assert await a.receive_json(timeout=5) == {"type": "resumed", "channels": {}}


async def test_a_shorter_retention_prunes_younger_changes(aiohttp_client, config, db, alice):
    short = await aiohttp_client(create_app(replace(config, change_retention=timedelta(days=1))))
    resp = await short.post("/chat/servers", json={"name": "Guild"}, headers=alice.auth)
    server_id = (await resp.json())["id"]
    channel = (await (await short.get(f"/chat/servers/{server_id}/channels", headers=alice.auth)).json())[0]["id"]
    await change_queries.add_old_change(db, channel_id=channel, days=2)
    await sweep_changes(short.app)
    assert await change_queries.count_changes(db, channel_id=channel) == 0
    resp = await short.get(f"/chat/servers/{server_id}/channels/{channel}/changes", headers=alice.auth)
    assert resp.status == 410


async def test_a_resume_longer_than_the_send_queue_goes_at_the_readers_pace(aiohttp_client, config, alice, server, db,
                                                                          test_queries):
    """A replay waits for its reader instead of queueing past CHATD_SEND_QUEUE: a client that
    reads only after the socket's buffers filled still gets every change, not a 4008."""
    client = await aiohttp_client(create_app(replace(config, send_queue_frames=10)))
    await test_queries.insert_messages(db, channel_id=server.general, user_id=alice.id, n=20000,
                                       newest=datetime.now(timezone.utc))
    a = await connect(client, alice)
    await a.send_json({"type": "resume", "channels": {server.general: 0}})
    await asyncio.sleep(1.0)  # not reading: the socket's buffers fill and chatd's writes pause
    events = await events_until(a, "resumed")
    assert [e["eventSeq"] for e in events[:-1]] == list(range(1, 20001))
    assert events[-1] == {"type": "resumed", "channels": {server.general: 20000}}


async def test_a_resume_of_channels_read_in_several_groups_at_once_keeps_each_channel_in_order(
        client, alice, server, db, test_queries):
    """More changes than one read takes, in more channels than one group holds: the reads that
    run at once never interleave one channel's changes, and none is left out or sent twice."""
    channels = [server.general] + [await new_channel(client, server, alice, name=f"c{n}") for n in range(11)]
    sizes = {channel: 150 + 40 * n for n, channel in enumerate(channels)}  # 150..590: one to three reads each
    for channel, size in sizes.items():
        await test_queries.insert_messages(db, channel_id=channel, user_id=alice.id, n=size,
                                           newest=datetime.now(timezone.utc))
    a = await connect(client, alice)
    await a.send_json({"type": "resume", "channels": {channel: 5 for channel in channels}})
    events = await events_until(a, "resumed")
    for channel, size in sizes.items():
        assert [e["eventSeq"] for e in events[:-1] if e["channelId"] == channel] == list(range(6, size + 1))
    assert events[-1] == {"type": "resumed", "channels": sizes}


async def test_a_change_whose_note_never_arrived_is_caught_up_when_listen_reconnects(
        client, alice, server, db, app_queries, test_queries):
    message = await (await post(client, server, alice, "hello")).json()
    a = await connect(client, alice)
    async with db.transaction():  # a reaction committed with its note sent where no chatd listens
        assert [row["type"] async for row in app_queries.lock_channels_for_changes(
            db, server_ids=[server.id], channel_ids=[server.general])] == ["TEXT"]
        assert [tuple(row) async for row in app_queries.react(
            db, notify_channel="nobody_listens", ords=[1], channel_ids=[server.general], message_ids=[message["id"]],
            emojis=["👍"], user_ids=[alice.id], adds=[True], max_emoji=20)] == [(1, "added")]
    await no_event(a, "reaction_added")
    assert len([row async for row in test_queries.terminate_listeners(db)]) == 1
    event = await next_event(a, "reaction_added", timeout=10)  # read back by the catch-up
    assert (event["eventSeq"], event["messageId"], event["emoji"]) == (2, message["id"], "👍")
    await no_event(a, "new_message")  # the message it had fanned out already is not sent again


async def test_history_says_which_point_of_the_stream_it_shows_and_a_resume_from_it_repeats_nothing(
        client, alice, bob, server, add_member):
    await add_member(bob)
    url = f"{server.url}/channels/{server.general}/messages"
    empty = await client.get(url, headers=alice.auth)
    assert (await empty.json(), empty.headers["Chatd-Event-Seq"]) == ([], "0")
    first = await (await post(client, server, alice, "first")).json()
    await post(client, server, alice, "newest")  # event_seq 2
    reaction = f"{url}/{first['id']}/reactions/%F0%9F%91%8D/@me"
    assert (await client.put(reaction, headers=bob.auth)).status == 204  # event_seq 3, on an older message
    page = await client.get(url, headers=alice.auth)
    messages = await page.json()
    assert [m["event_seq"] for m in messages] == [1, 2]  # the newest message's is not the stream's point
    assert page.headers["Chatd-Event-Seq"] == "3"
    assert messages[0]["reactions"] == [{"emoji": "👍", "count": 1, "me": False}]
    a = await connect(client, alice)
    await a.send_json({"type": "resume", "channels": {server.general: int(page.headers["Chatd-Event-Seq"])}})
    assert await a.receive_json(timeout=5) == {"type": "resumed", "channels": {server.general: 3}}
    assert (await client.delete(reaction, headers=bob.auth)).status == 204
    assert (await next_event(a, "reaction_removed"))["eventSeq"] == 4


async def test_changes_that_wait_together_are_made_together_as_if_one_after_the_other(
        client, alice, bob, server, add_member, db, lock_waiters, test_queries):
    """Changes queued behind a held channel go in one batch: a statement per kind, with a
    second change of the same message (or reaction) in a later round, so the outcome and the
    events are those of the changes made one at a time, in the order they came."""
    await add_member(bob)
    first = await (await post(client, server, alice, "one")).json()
    other = await (await post(client, server, alice, "other")).json()
    base = f"{server.url}/channels/{server.general}/messages"
    thumbs = "%F0%9F%91%8D"
    start = other["event_seq"]
    async with db.transaction():
        await test_queries.hold_channel_row(db, channel_id=server.general)
        held = asyncio.ensure_future(client.patch(f"{base}/{other['id']}", json={"text": "other, edited"},
                                                  headers=alice.auth))
        await lock_waiters(1)
        queued = []
        for request in (
                lambda: client.patch(f"{base}/{first['id']}", json={"text": "two"}, headers=alice.auth),
                lambda: client.put(f"{base}/{first['id']}/reactions/{thumbs}/@me", headers=bob.auth),
                lambda: client.patch(f"{base}/{first['id']}", json={"text": "three"}, headers=alice.auth),
                lambda: client.delete(f"{base}/{first['id']}/reactions/{thumbs}/@me", headers=bob.auth),
                lambda: client.put(f"{base}/{first['id']}/reactions/{thumbs}/@me", headers=alice.auth)):
            queued.append(asyncio.ensure_future(request()))
            await asyncio.sleep(0.2)  # past its permission check: it waits in the next batch
        assert not any(task.done() for task in (held, *queued))
    assert (await held).status == 200
    assert [(await task).status for task in queued] == [200, 204, 200, 204, 204]
    registry = client.app[keys.metrics].registry
    assert [registry.get_sample_value(f"chatd_change_batch_size_{kind}") for kind in ("sum", "count")] == [6, 2]
    resp = await client.get(f"{server.url}/channels/{server.general}/changes",
                            params={"after_event_seq": str(start)}, headers=alice.auth)
    events = [(e["type"], e.get("text") or e.get("userId")) for e in await resp.json()]
    assert events == [("message_updated", "other, edited"), ("message_updated", "two"),
                      ("reaction_added", str(bob.id)), ("reaction_added", str(alice.id)),
                      ("message_updated", "three"), ("reaction_removed", str(bob.id))]
    versions = await (await client.get(f"{base}/{first['id']}/edits", headers=alice.auth)).json()
    assert [v["text"] for v in versions] == ["one", "two"]
    [page] = [m for m in await (await client.get(base, headers=alice.auth)).json() if m["id"] == first["id"]]
    assert (page["text"], page["reactions"]) == ("three", [{"emoji": "👍", "count": 1, "me": True}])
