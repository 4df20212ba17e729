"""Threads: a channel started on a message, with everything a channel has at the channel
routes, plus its own routes, events, followers and counters (issue 19)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from uuid import UUID

from chatd.ops.sweeps import sweep_idle_threads
from test_gateway import connect, next_event, no_event


async def post(client, server, person, text: str, channel: str | None = None):
    return await client.post(f"{server.url}/channels/{channel or server.general}/messages", json={"text": text},
                             headers=person.auth)


async def message(client, server, person, text: str, channel: str | None = None) -> dict:
    resp = await post(client, server, person, text, channel)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def start(client, server, person, message_id: str, channel: str | None = None, **body):
    return await client.post(f"{server.url}/channels/{channel or server.general}/messages/{message_id}/threads",
                             json={"name": "plans", **body}, headers=person.auth)


async def thread_on(client, server, person, **body) -> dict:
    """A thread `person` starts on a message of their own in #general."""
    root = await message(client, server, person, "let's plan")
    resp = await start(client, server, person, root["id"], **body)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def history(client, server, person, channel: str) -> list[dict]:
    resp = await client.get(f"{server.url}/channels/{channel}/messages", headers=person.auth)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def unreads(client, person) -> dict[str, dict]:
    resp = await client.get("/chat/unreads", headers=person.auth)
    return {entry["channel_id"]: entry for entry in await resp.json()}


# Starting one, and what it is.

async def test_a_thread_is_a_channel_of_type_thread_on_its_root_message(client, server, alice):
    root = await message(client, server, alice, "let's plan")
    resp = await start(client, server, alice, root["id"])
    assert resp.status == 201
    thread = await resp.json()
    assert {k: thread[k] for k in ("type", "server_id", "parent_channel_id", "root_message_id", "name", "created_by",
                                   "archived", "locked", "auto_archive_minutes", "message_count", "root_deleted",
                                   "following")} == {
        "type": "thread", "server_id": server.id, "parent_channel_id": server.general, "root_message_id": root["id"],
        "name": "plans", "created_by": str(alice.id), "archived": False, "locked": False,
        "auto_archive_minutes": 1440, "message_count": 0, "root_deleted": False, "following": True}
    assert thread["last_message_at"] == thread["created_at"] or thread["last_message_at"] > thread["created_at"]
    resp = await client.get(f"/chat/threads/{thread['id']}", headers=alice.auth)
    assert await resp.json() == thread


async def test_channel_lists_leave_threads_out(client, server, alice):
    await thread_on(client, server, alice)
    channels = await (await client.get(f"{server.url}/channels", headers=alice.auth)).json()
    assert [c["id"] for c in channels] == [server.general]
    resp = await client.post(f"{server.url}/channels", json={"name": "news"}, headers=alice.auth)
    assert (await resp.json())["position"] == 1


async def test_a_second_thread_on_a_message_is_409_naming_the_first(client, server, alice, bob, add_member):
    await add_member(bob)
    thread = await thread_on(client, server, alice)
    resp = await start(client, server, bob, thread["root_message_id"])
    assert resp.status == 409
    assert await resp.json() == {"detail": "this message has a thread already", "thread_id": thread["id"]}


async def test_concurrent_starts_on_one_message_make_one_thread(client, server, alice):
    root = await message(client, server, alice, "race")
    answers = await asyncio.gather(*(start(client, server, alice, root["id"]) for _ in range(10)))
    assert sorted(r.status for r in answers) == [201] + [409] * 9


async def test_root_carries_its_thread_in_history_with_live_counts(client, server, alice, bob, add_member):
    await add_member(bob)
    thread = await thread_on(client, server, alice)
    await message(client, server, bob, "one", thread["id"])
    second = await message(client, server, alice, "two", thread["id"])
    [root] = await history(client, server, alice, server.general)
    assert root["thread"] == {"id": thread["id"], "name": "plans", "message_count": 2,
                              "last_message_at": root["thread"]["last_message_at"]}
    assert thread["last_message_at"] < root["thread"]["last_message_at"] <= second["created_at"]  # its batch's time
    resp = await client.delete(f"{server.url}/channels/{thread['id']}/messages/{second['id']}", headers=alice.auth)
    assert resp.status == 204
    [root] = await history(client, server, alice, server.general)
    assert root["thread"]["message_count"] == 1  # messages not deleted
    resp = await client.patch(f"{server.url}/channels/{server.general}/messages/{root['id']}", json={"text": "edited"},
                              headers=alice.auth)
    assert (await resp.json())["thread"] == root["thread"]  # an edit answers the message as history shows it


@pytest.mark.parametrize("body, detail", [
    ({"name": "   "}, "name must not be blank"),
    ({"name": "x" * 101}, None),
    ({"name": "plans", "auto_archive_minutes": 30}, None),
    ({"name": "plans", "auto_archive_minutes": "60"}, None),
])
async def test_bad_thread_bodies_are_400(client, server, alice, body, detail):
    root = await message(client, server, alice, "root")
    resp = await client.post(f"{server.url}/channels/{server.general}/messages/{root['id']}/threads", json=body,
                             headers=alice.auth)
    assert resp.status == 400
    answer = await resp.json()
    assert answer["detail"] == detail if detail else ("name" in answer["detail"] or "auto_archive" in answer["detail"])


async def test_a_thread_on_a_message_of_another_channel_is_400(client, server, alice):
    resp = await client.post(f"{server.url}/channels", json={"name": "news"}, headers=alice.auth)
    news = (await resp.json())["id"]
    root = await message(client, server, alice, "elsewhere", news)
    resp = await start(client, server, alice, root["id"])
    assert (resp.status, await resp.json()) == (400, {"detail": "the message is not a message of this channel"})


async def test_a_thread_on_a_deleted_message_is_400(client, server, alice):
    root = await message(client, server, alice, "gone")
    await client.delete(f"{server.url}/channels/{server.general}/messages/{root['id']}", headers=alice.auth)
    resp = await start(client, server, alice, root["id"])
    assert (resp.status, await resp.json()) == (400, {"detail": "a deleted message cannot start a thread"})


async def test_no_threads_in_threads(client, server, alice):
    thread = await thread_on(client, server, alice)
    reply = await message(client, server, alice, "in the thread", thread["id"])
    resp = await start(client, server, alice, reply["id"], channel=thread["id"])
    assert (resp.status, await resp.json()) == (400, {"detail": "no threads in threads: a thread's messages cannot "
                                                                "start one"})


async def test_a_thread_on_an_unknown_message_or_by_a_non_member_is_404(client, server, alice, bob):
    resp = await start(client, server, alice, "00000000-0000-0000-0000-000000000001")
    assert (resp.status, await resp.json()) == (404, {"detail": "message not found"})
    root = await message(client, server, alice, "root")
    resp = await start(client, server, bob, root["id"])
    assert (resp.status, await resp.json()) == (404, {"detail": "server not found"})
    resp = await client.get(f"/chat/threads/{(await thread_on(client, server, alice))['id']}", headers=bob.auth)
    assert (resp.status, await resp.json()) == (404, {"detail": "thread not found"})


# Everything a channel has, at the channel routes.

async def test_history_send_edit_react_delete_and_changes_work_on_a_thread(client, server, alice, bob, add_member):
    await add_member(bob)
    thread = await thread_on(client, server, alice)
    base = f"{server.url}/channels/{thread['id']}"
    b = await connect(client, bob)
    first = await message(client, server, alice, "first", thread["id"])
    event = await next_event(b, "new_message")
    assert (event["channelId"], event["serverId"], event["seq"]) == (thread["id"], server.id, 1)
    await b.send_json({"type": "send_message", "serverId": server.id, "channelId": thread["id"], "text": "by ws",
                       "replyTo": first["id"]})
    reply = await next_event(b, "new_message")
    assert (reply["text"], reply["replyTo"]["id"]) == ("by ws", first["id"])
    resp = await client.patch(f"{base}/messages/{first['id']}", json={"text": "edited"}, headers=alice.auth)
    assert resp.status == 200
    assert (await next_event(b, "message_updated"))["channelId"] == thread["id"]
    resp = await client.put(f"{base}/messages/{first['id']}/reactions/%F0%9F%91%8D/@me", headers=bob.auth)
    assert resp.status == 204
    assert (await next_event(b, "reaction_added"))["channelId"] == thread["id"]
    assert [m["text"] for m in await history(client, server, bob, thread["id"])] == ["edited", "by ws"]
    resp = await client.get(f"{base}/changes", params={"after_event_seq": "0"}, headers=bob.auth)
    assert [c["type"] for c in await resp.json()] == ["new_message", "new_message", "message_updated",
                                                      "reaction_added"]
    await b.send_json({"type": "resume", "channels": {thread["id"]: 2}})
    assert (await next_event(b, "message_updated"))["text"] == "edited"
    assert (await next_event(b, "resumed"))["channels"] == {thread["id"]: 4}
    resp = await client.get("/chat/search", params={"q": "edited", "channel_id": thread["id"]}, headers=bob.auth)
    assert [hit["id"] for hit in (await resp.json())["results"]] == [first["id"]]
    await b.close()


async def test_deleting_the_root_leaves_the_thread_standing(client, server, alice):
    thread = await thread_on(client, server, alice)
    await message(client, server, alice, "still here", thread["id"])
    resp = await client.delete(f"{server.url}/channels/{server.general}/messages/{thread['root_message_id']}",
                               headers=alice.auth)
    assert resp.status == 204
    got = await (await client.get(f"/chat/threads/{thread['id']}", headers=alice.auth)).json()
    assert (got["root_deleted"], got["message_count"]) == (True, 1)
    assert await history(client, server, alice, server.general) == []
    assert [m["text"] for m in await history(client, server, alice, thread["id"])] == ["still here"]


# Events.

async def test_thread_created_and_updated_reach_every_member(client, server, alice, bob, add_member):
    await add_member(bob)
    b = await connect(client, bob)
    thread = await thread_on(client, server, alice)
    created = await next_event(b, "thread_created")
    assert created == {"type": "thread_created", "serverId": server.id,
                       "thread": {k: v for k, v in thread.items() if k != "following"}}
    await message(client, server, alice, "reply", thread["id"])
    updated = await next_event(b, "thread_updated")
    assert {k: updated[k] for k in ("serverId", "threadId", "name", "messageCount", "archived", "locked")} == {
        "serverId": server.id, "threadId": thread["id"], "name": "plans", "messageCount": 1, "archived": False,
        "locked": False}
    await b.close()


async def test_thread_updated_goes_out_at_most_once_a_second_with_the_latest_counts(client, server, alice):
    thread = await thread_on(client, server, alice)
    a = await connect(client, alice)
    loop = asyncio.get_running_loop()
    heard: list[tuple[float, dict]] = []

    async def listen():
        with contextlib.suppress(TimeoutError):
            while True:
                event = await next_event(a, "thread_updated", timeout=2)
                heard.append((loop.time(), event))

    listening = asyncio.create_task(listen())
    for i in range(25):  # one reply every 0.1 s for 2.5 s
        await message(client, server, alice, f"r{i}", thread["id"])
        await asyncio.sleep(0.1)
    await listening
    gaps = [later - earlier for (earlier, _), (later, _) in zip(heard, heard[1:])]
    assert 2 <= len(heard) <= 5 and min(gaps) > 0.8, gaps
    assert heard[-1][1]["messageCount"] == 25  # the latest state comes last
    await a.close()


async def test_deleting_messages_of_a_thread_sends_thread_updated_with_the_new_count(client, server, alice, bob,
                                                                                   add_member):
    await add_member(bob)
    thread = await thread_on(client, server, alice)
    sent = [await message(client, server, alice, f"r{i}", thread["id"]) for i in range(4)]
    other = await message(client, server, alice, "not in the thread")
    before = await (await client.get(f"/chat/threads/{thread['id']}", headers=bob.auth)).json()
    await asyncio.sleep(1.1)  # the sends' second of thread_updated is over
    b = await connect(client, bob)
    messages = f"{server.url}/channels/{thread['id']}/messages"
    assert (await client.delete(f"{messages}/{sent[0]['id']}", headers=alice.auth)).status == 204
    updated = await next_event(b, "thread_updated")
    assert updated == {"type": "thread_updated", "serverId": server.id, "threadId": thread["id"], "name": "plans",
                       "messageCount": 3, "lastMessageAt": before["last_message_at"], "archived": False,
                       "locked": False}  # a deletion is no activity
    await asyncio.sleep(1.1)
    resp = await client.post(f"{messages}/bulk-delete", json={"ids": [m["id"] for m in sent[:3]]}, headers=alice.auth)
    assert resp.status == 204
    assert (await next_event(b, "thread_updated"))["messageCount"] == 1  # the one deleted already is not counted
    await asyncio.sleep(1.1)
    resp = await client.post(f"{messages}/bulk-delete", json={"ids": [sent[0]["id"]]}, headers=alice.auth)
    assert resp.status == 204  # nothing left to delete: no event
    resp = await client.delete(f"{server.url}/channels/{server.general}/messages/{other['id']}", headers=alice.auth)
    assert resp.status == 204  # not a thread's
    await no_event(b, "thread_updated", wait=1.0)
    got = await (await client.get(f"/chat/threads/{thread['id']}", headers=bob.auth)).json()
    assert got["message_count"] == 1
    await b.close()


# Changing, locking, deleting.

async def test_the_creator_renames_and_archives_a_member_may_not(client, server, alice, bob, carol, add_member):
    await add_member(bob)
    await add_member(carol)
    thread = await thread_on(client, server, bob)
    resp = await client.patch(f"/chat/threads/{thread['id']}", json={"name": "x"}, headers=carol.auth)
    assert (resp.status, await resp.json()) == (403, {"detail": "only the thread's creator, a MODERATOR or an ADMIN "
                                                                "can change it"})
    resp = await client.patch(f"/chat/threads/{thread['id']}", json={"name": " renamed ", "archived": True},
                              headers=bob.auth)
    assert resp.status == 200
    assert {k: (await resp.json())[k] for k in ("name", "archived")} == {"name": "renamed", "archived": True}
    resp = await client.patch(f"/chat/threads/{thread['id']}", json={"locked": True}, headers=bob.auth)
    assert (resp.status, await resp.json()) == (403, {"detail": "only a MODERATOR or ADMIN can lock or unlock a "
                                                                "thread"})


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "  "}, {"locked": "yes"}, {"pinned": True}])
async def test_bad_thread_changes_are_400(client, server, alice, body):
    thread = await thread_on(client, server, alice)
    resp = await client.patch(f"/chat/threads/{thread['id']}", json=body, headers=alice.auth)
    assert resp.status == 400
    assert "detail" in await resp.json()


async def test_in_a_locked_thread_only_moderators_and_admins_post(client, server, alice, bob, carol, add_member):
    await add_member(bob)
    await add_member(carol, "MODERATOR")
    thread = await thread_on(client, server, bob)
    resp = await client.patch(f"/chat/threads/{thread['id']}", json={"locked": True}, headers=carol.auth)
    assert (resp.status, (await resp.json())["locked"]) == (200, True)
    resp = await post(client, server, bob, "let me in", thread["id"])
    assert (resp.status, await resp.json()) == (403, {"detail": "only a MODERATOR or ADMIN can post in a locked "
                                                                "thread"})
    b = await connect(client, bob)
    await b.send_json({"type": "send_message", "serverId": server.id, "channelId": thread["id"], "text": "ws"})
    assert (await next_event(b, "error"))["message"] == "only a MODERATOR or ADMIN can post in a locked thread"
    assert (await post(client, server, carol, "mod", thread["id"])).status == 201
    assert (await post(client, server, alice, "admin", thread["id"])).status == 201
    await b.close()


async def test_the_statement_and_check_send_agree_on_locked_threads(client, server, alice, bob, carol, add_member,
                                                                   db, app_queries, config):
    from chatd.domain import permissions
    from chatd.domain.errors import Refused
    await add_member(bob)
    await add_member(carol, "MODERATOR")
    thread = await thread_on(client, server, alice)
    await client.patch(f"/chat/threads/{thread['id']}", json={"locked": True}, headers=alice.auth)
    for person in (alice, bob, carol):
        access = await app_queries.get_channel_access(db, server_id=server.id, channel_id=thread["id"],
                                                      user_id=person.id)
        try:
            permissions.check_send(access["role"], access["channel_type"], locked=access["locked"])
            allowed = True
        except Refused:
            allowed = False
        rows = [row async for row in app_queries.insert_message_batch(
            db, notify_channel="test", server_ids=[server.id], channel_ids=[thread["id"]], user_ids=[person.id],
            usernames=[person.name], texts=["x"], nonces=[None], reply_to_ids=[None], everyones=[False],
            heres=[False], mention_replies=[True], mention_ords=[], mention_ids=[], mention_names=[],
            attach_ords=[], attach_ids=[])]
        assert bool(rows) == allowed, person.name


async def test_a_new_message_unarchives_an_unlocked_thread_not_a_locked_one(client, server, alice):
    thread = await thread_on(client, server, alice)
    await client.patch(f"/chat/threads/{thread['id']}", json={"archived": True}, headers=alice.auth)
    await message(client, server, alice, "back", thread["id"])
    assert (await (await client.get(f"/chat/threads/{thread['id']}", headers=alice.auth)).json())["archived"] is False
    await client.patch(f"/chat/threads/{thread['id']}", json={"archived": True, "locked": True}, headers=alice.auth)
    await message(client, server, alice, "still archived", thread["id"])
    got = await (await client.get(f"/chat/threads/{thread['id']}", headers=alice.auth)).json()
    assert (got["archived"], got["message_count"]) == (True, 2)


async def test_deleting_a_thread_removes_it_and_its_messages(client, server, alice, bob, carol, add_member):
    await add_member(bob)
    await add_member(carol)
    thread = await thread_on(client, server, bob)
    await message(client, server, bob, "reply", thread["id"])
    resp = await client.delete(f"/chat/threads/{thread['id']}", headers=carol.auth)
    assert resp.status == 403
    a = await connect(client, alice)
    resp = await client.delete(f"/chat/threads/{thread['id']}", headers=bob.auth)
    assert resp.status == 204
    assert await next_event(a, "thread_deleted") == {"type": "thread_deleted", "serverId": server.id,
                                                     "threadId": thread["id"], "parentChannelId": server.general}
    resp = await client.get(f"{server.url}/channels/{thread['id']}/messages", headers=alice.auth)
    assert resp.status == 404
    assert (await client.delete(f"/chat/threads/{thread['id']}", headers=alice.auth)).status == 404
    [root] = await history(client, server, alice, server.general)
    assert root["thread"] is None
    await a.close()


# Listing.

async def test_a_channels_threads_are_listed_by_latest_activity_and_paged(client, server, alice):
    threads = []
    for _ in range(4):
        threads.append(await thread_on(client, server, alice))
    await message(client, server, alice, "bump", threads[1]["id"])
    await client.patch(f"/chat/threads/{threads[3]['id']}", json={"archived": True}, headers=alice.auth)
    url = f"{server.url}/channels/{server.general}/threads"
    page = await (await client.get(url, params={"limit": "2"}, headers=alice.auth)).json()
    assert [t["id"] for t in page] == [threads[1]["id"], threads[2]["id"]]
    rest = await (await client.get(url, params={"before": page[-1]["last_message_at"]}, headers=alice.auth)).json()
    assert [t["id"] for t in rest] == [threads[0]["id"]]
    archived = await (await client.get(url, params={"archived": "true"}, headers=alice.auth)).json()
    assert [t["id"] for t in archived] == [threads[3]["id"]]


@pytest.mark.parametrize("params", [{"archived": "maybe"}, {"before": "yesterday"}, {"limit": "0"}])
async def test_bad_thread_listings_are_400(client, server, alice, params):
    resp = await client.get(f"{server.url}/channels/{server.general}/threads", params=params, headers=alice.auth)
    assert resp.status == 400
    assert "detail" in await resp.json()


async def test_a_non_member_cannot_list_threads(client, server, bob):
    resp = await client.get(f"{server.url}/channels/{server.general}/threads", headers=bob.auth)
    assert (resp.status, await resp.json()) == (404, {"detail": "server not found"})


# The sweep.

async def test_the_sweep_archives_threads_idle_past_their_minutes(client, server, alice, db):
    a = await connect(client, alice)
    idle = await thread_on(client, server, alice, auto_archive_minutes=60)
    fresh = await thread_on(client, server, alice, auto_archive_minutes=60)
    week = await thread_on(client, server, alice, auto_archive_minutes=10080)
    await db.execute("UPDATE chatchannel SET last_message_at = now() - interval '61 minutes' WHERE id = any($1)",
                     [idle["id"], week["id"]])
    await sweep_idle_threads(client.app)
    got = {t["id"]: (await (await client.get(f"/chat/threads/{t['id']}", headers=alice.auth)).json())["archived"]
           for t in (idle, fresh, week)}
    assert got == {idle["id"]: True, fresh["id"]: False, week["id"]: False}
    while (event := await next_event(a, "thread_updated"))["threadId"] != idle["id"]:
        pass
    assert event["archived"] is True
    await a.close()


# Following and unread counts.

async def test_thread_unreads_go_to_followers_only_from_when_they_follow(client, server, alice, bob, carol,
                                                                         add_member):
    await add_member(bob)
    await add_member(carol)
    thread = await thread_on(client, server, alice)
    await message(client, server, alice, "before carol follows", thread["id"])
    assert thread["id"] not in await unreads(client, carol)
    assert (await client.put(f"/chat/threads/{thread['id']}/followers/@me", headers=carol.auth)).status == 204
    assert (await client.put(f"/chat/threads/{thread['id']}/followers/@me", headers=carol.auth)).status == 204
    await message(client, server, alice, "after", thread["id"])
    await message(client, server, bob, "bob replies", thread["id"])  # and so follows
    assert (await unreads(client, carol))[thread["id"]]["unread_count"] == 2
    assert (await unreads(client, bob))[thread["id"]]["unread_count"] == 0
    assert (await unreads(client, alice))[thread["id"]]["unread_count"] == 1  # the creator follows: bob's
    await message(client, server, alice, "again", thread["id"])
    assert (await unreads(client, bob))[thread["id"]]["unread_count"] == 1
    assert (await client.delete(f"/chat/threads/{thread['id']}/followers/@me", headers=carol.auth)).status == 204
    assert thread["id"] not in await unreads(client, carol)
    got = await (await client.get(f"/chat/threads/{thread['id']}", headers=carol.auth)).json()
    assert got["following"] is False
    resp = await client.get(f"{server.url}/channels/{thread['id']}/messages", headers=carol.auth)
    assert resp.status == 200  # everyone in the server still reads it


async def test_the_roots_author_follows_a_thread_someone_else_starts(client, server, alice, bob, add_member):
    await add_member(bob)
    root = await message(client, server, alice, "mine")
    resp = await start(client, server, bob, root["id"])
    thread = await resp.json()
    await message(client, server, bob, "reply", thread["id"])
    assert (await unreads(client, alice))[thread["id"]]["unread_count"] == 1


async def test_following_an_unknown_thread_is_404(client, server, alice, bob):
    resp = await client.put("/chat/threads/00000000-0000-0000-0000-000000000001/followers/@me", headers=alice.auth)
    assert (resp.status, await resp.json()) == (404, {"detail": "thread not found"})
    thread = await thread_on(client, server, alice)
    resp = await client.put(f"/chat/threads/{thread['id']}/followers/@me", headers=bob.auth)
    assert resp.status == 404


async def test_listing_threads_is_a_range_of_the_activity_index_not_a_sort(client, server, alice, db, app_queries):
    from test_explain import explain, nodes
    await db.execute("""
        INSERT INTO chatchannel (server_id, name, type, parent_channel_id, root_message_id, auto_archive_minutes,
                                 last_message_at, archived)
        SELECT $1, 't' || n, 'THREAD', $2, gen_random_uuid(), 1440, now() - n * interval '1 second', n % 3 = 0
          FROM generate_series(1, 5000) AS n""", UUID(server.id), UUID(server.general))
    await db.execute("ANALYZE chatchannel")
    plan = await explain(db, app_queries, "list_threads", channel_id=UUID(server.general), archived=False,
                         before=None, lim=25)
    kinds = {(n["Node Type"], n.get("Index Name")) for n in nodes(plan)}
    assert ("Index Scan", "ix_chatchannel_thread_activity") in kinds and not any(k == "Sort" for k, _ in kinds), \
        plan


async def test_a_member_mentioned_in_a_thread_follows_it_and_counts_the_mention(client, server, alice, bob,
                                                                               add_member):
    await add_member(bob)
    thread = await thread_on(client, server, alice)
    await message(client, server, alice, "not for bob", thread["id"])
    await message(client, server, alice, "@bob have a look", thread["id"])
    entry = (await unreads(client, bob))[thread["id"]]
    assert (entry["unread_count"], entry["mention_count"]) == (1, 1)
    assert (await (await client.get(f"/chat/threads/{thread['id']}", headers=bob.auth)).json())["following"] is True
