"""What deletions leave behind (issues 17 and 19): a deleted thread, or a thread of a deleted
channel, has a tombstone of its own, so a resume of it hears channel_deleted as a channel's
does; tombstones go after CHATD_CHANGE_RETENTION with the changes; notification settings of
deleted servers, channels, threads and conversations go with them."""

from __future__ import annotations

import asyncio
from uuid import UUID

from chatd.ops.sweeps import sweep_changes
from test_gateway import connect, next_event, no_event
from test_threads import message, thread_on


async def settings_of(db, person) -> set[tuple[str, UUID]]:
    return {(row["scope"], row["target_id"]) for row in await db.fetch(
        "SELECT scope, target_id FROM notification_setting WHERE user_id = $1", person.id)}


async def set_level(client, person, scope: str, target_id: str) -> None:
    resp = await client.put(f"/chat/users/@me/notification-settings/{scope}/{target_id}", json={"level": "all"},
                            headers=person.auth)
    assert resp.status == 200, await resp.text()


async def resume_answers_channel_deleted(client, person, server, channel_id: str) -> None:
    """Both resume forms answer channel_deleted for it, and no error."""
    ws = await connect(client, person)
    deleted = {"type": "channel_deleted", "serverId": server.id, "channelId": channel_id}
    await ws.send_json({"type": "resume", "channels": {channel_id: 0, server.general: 0}})
    assert await next_event(ws, "channel_deleted") == deleted
    assert list((await next_event(ws, "resumed"))["channels"]) == [server.general]
    await ws.send_json({"type": "resume", "serverId": server.id, "channelId": channel_id, "afterSeq": 0})
    assert await next_event(ws, "channel_deleted") == deleted
    await no_event(ws, "error")
    await ws.close()


async def resume_answers_not_found(client, person, channel_id: str) -> None:
    ws = await connect(client, person)
    await ws.send_json({"type": "resume", "channels": {channel_id: 0}})
    assert await next_event(ws, "error") == {"type": "error", "message": "channel not found", "channelId": channel_id}
    await no_event(ws, "channel_deleted")
    await ws.close()


# Tombstones of threads.

async def test_a_resume_of_a_deleted_thread_answers_channel_deleted(client, server, alice):
    thread = await thread_on(client, server, alice)
    await message(client, server, alice, "reply", thread["id"])
    assert (await client.delete(f"/chat/threads/{thread['id']}", headers=alice.auth)).status == 204
    await resume_answers_channel_deleted(client, alice, server, thread["id"])


async def channel_with_thread(client, server, person) -> tuple[str, str]:
    """A new channel "news" and a thread on its first message: (channel id, thread id)."""
    resp = await client.post(f"{server.url}/channels", json={"name": "news"}, headers=person.auth)
    news = (await resp.json())["id"]
    root = await message(client, server, person, "root", news)
    resp = await client.post(f"{server.url}/channels/{news}/messages/{root['id']}/threads", json={"name": "t"},
                             headers=person.auth)
    return news, (await resp.json())["id"]


async def test_a_resume_of_a_thread_of_a_deleted_channel_answers_channel_deleted(client, server, alice, bob,
                                                                                add_member):
    await add_member(bob)
    news, thread_id = await channel_with_thread(client, server, alice)
    await message(client, server, bob, "reply", thread_id)
    assert (await client.delete(f"{server.url}/channels/{news}", headers=alice.auth)).status == 204
    await resume_answers_channel_deleted(client, bob, server, thread_id)
    await resume_answers_channel_deleted(client, bob, server, news)


async def test_tombstones_go_after_the_change_retention_younger_ones_stay(client, server, alice, db):
    old, young = await thread_on(client, server, alice), await thread_on(client, server, alice)
    for thread in (old, young):
        assert (await client.delete(f"/chat/threads/{thread['id']}", headers=alice.auth)).status == 204
    resp = await client.post(f"{server.url}/channels", json={"name": "news"}, headers=alice.auth)
    news = (await resp.json())["id"]
    assert (await client.delete(f"{server.url}/channels/{news}", headers=alice.auth)).status == 204
    await db.execute("UPDATE deleted_channel SET deleted_at = now() - interval '31 days' WHERE id = any($1::uuid[])",
                     [UUID(old["id"]), UUID(news)])  # CHATD_CHANGE_RETENTION is 30 days
    await sweep_changes(client.app)
    assert {row["id"] for row in await db.fetch("SELECT id FROM deleted_channel")} == {UUID(young["id"])}
    await resume_answers_not_found(client, alice, old["id"])
    await resume_answers_not_found(client, alice, news)
    await resume_answers_channel_deleted(client, alice, server, young["id"])


# Notification settings of what is gone.

async def test_settings_of_a_deleted_channel_and_thread_go_with_them(client, server, alice, bob, add_member, db):
    await add_member(bob)
    resp = await client.post(f"{server.url}/channels", json={"name": "news"}, headers=alice.auth)
    news = (await resp.json())["id"]
    thread = await thread_on(client, server, alice)
    for target in (news, thread["id"], server.general):
        await set_level(client, bob, "channel", target)
    await set_level(client, bob, "server", server.id)
    assert (await client.delete(f"{server.url}/channels/{news}", headers=alice.auth)).status == 204
    assert (await client.delete(f"/chat/threads/{thread['id']}", headers=alice.auth)).status == 204
    assert await settings_of(db, bob) == {("channel", UUID(server.general)), ("server", UUID(server.id))}


async def test_settings_of_a_deleted_server_go_with_it_and_its_channels_threads(client, server, alice, bob,
                                                                                 add_member, db):
    await add_member(bob)
    thread = await thread_on(client, server, alice)
    resp = await client.post("/chat/servers", json={"name": "Other"}, headers=bob.auth)
    other = (await resp.json())["id"]
    for scope, target in (("server", server.id), ("channel", server.general), ("channel", thread["id"]),
                          ("server", other)):
        await set_level(client, bob, scope, target)
    assert (await client.delete(server.url, headers=alice.auth)).status == 204
    assert await settings_of(db, bob) == {("server", UUID(other))}


async def test_settings_of_a_group_everyone_left_go_with_it(client, server, alice, bob, carol, add_member, db):
    await add_member(bob)
    await add_member(carol)
    resp = await client.post("/chat/dms", json={"recipient_ids": [str(bob.id), str(carol.id)]}, headers=alice.auth)
    dm = (await resp.json())["id"]
    for person in (alice, bob, carol):
        await set_level(client, person, "dm", dm)
    for person in (bob, carol):
        assert (await client.delete(f"/chat/dms/{dm}/recipients/{person.id}", headers=person.auth)).status == 204
    assert await settings_of(db, bob) == {("dm", UUID(dm))}  # left, kept: it applies again if added back
    assert (await client.delete(f"/chat/dms/{dm}/recipients/{alice.id}", headers=alice.auth)).status == 204
    assert await db.fetchval("SELECT count(*) FROM notification_setting") == 0



async def test_a_setting_of_a_channel_deleted_while_it_is_set_is_404(client, server, alice, db, lock_waiters):
    resp = await client.post(f"{server.url}/channels", json={"name": "news"}, headers=alice.auth)
    news = (await resp.json())["id"]
    deleting = db.transaction()
    await deleting.start()
    await db.execute("DELETE FROM chatchannel WHERE id = $1", UUID(news))
    setting = asyncio.create_task(client.put(f"/chat/users/@me/notification-settings/channel/{news}",
                                             json={"level": "all"}, headers=alice.auth))
    await lock_waiters(1)  # the check saw the channel; the insert waits for the deletion
    await deleting.commit()
    resp = await setting
    assert (resp.status, await resp.json()) == (404, {"detail": "channel not found"})


async def test_a_thread_and_its_channel_deleted_at_once_keep_one_tombstone(client, server, alice, db, app_queries,
                                                                          lock_waiters):
    news, thread_id = await channel_with_thread(client, server, alice)
    deleting_thread = db.transaction()
    await deleting_thread.start()
    assert await app_queries.delete_thread(db, notify_channel="unheard", thread_id=thread_id) is not None
    deleting_channel = asyncio.create_task(client.delete(f"{server.url}/channels/{news}", headers=alice.auth))
    await lock_waiters(1)  # the channel's deletion saw the thread, and waits for the thread's
    await deleting_thread.commit()
    assert (await deleting_channel).status == 204
    assert {row["id"] for row in await db.fetch("SELECT id FROM deleted_channel")} == {UUID(news), UUID(thread_id)}
