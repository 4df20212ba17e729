"""A thread's messages notify its followers only (issue 19): @everyone in it, and an `all`
setting of its server or channel, reach those who followed it before the message, on the
sockets (each process keeps the followers of the threads it delivers, kept by the follow notes)
and for Web Push; those a message names are told as anywhere."""

from __future__ import annotations

from tests.test_gateway import connect, next_event, no_event
from tests.test_gateway_processes import collect, make_server, post, ws_connect
from tests.test_mentions import mentions_of, recipients_of, settle, subscribe
from tests.test_threads import message, thread_on


async def follow(client, person, thread_id: str, following: bool = True) -> None:
    url = f"/chat/threads/{thread_id}/followers/@me"
    resp = await (client.put if following else client.delete)(url, headers=person.auth)
    assert resp.status == 204


async def test_everyone_in_a_thread_notifies_its_followers_only(client, server, alice, bob, carol, add_member):
    await add_member(bob)
    await add_member(carol)
    await subscribe(client.app, bob, carol)
    thread = await thread_on(client, server, alice)
    await message(client, server, bob, "count me in", thread["id"])  # bob follows from here
    b, c = await connect(client, bob), await connect(client, carol)
    sent = await message(client, server, alice, "@everyone vote now", thread["id"])
    event = await next_event(b, "notification")
    assert (event["kind"], event["messageId"], event["channelId"]) == ("mention", sent["id"], thread["id"])
    await no_event(c, "notification")
    assert await recipients_of(client.app, sent["id"]) == [(bob.id, "mention")]  # Web Push: the same
    named = await message(client, server, alice, "@everyone and @carol", thread["id"])  # named: told, and follows
    assert (await next_event(c, "notification"))["messageId"] == named["id"]
    assert (await next_event(b, "notification"))["messageId"] == named["id"]
    again = await message(client, server, alice, "@everyone again", thread["id"])
    assert (await next_event(c, "notification"))["messageId"] == again["id"]
    outside = await message(client, server, alice, "@everyone in #general")
    assert (await next_event(c, "notification"))["messageId"] == outside["id"]  # the channel's: every member
    for ws in (b, c):
        await ws.close()


async def test_here_in_a_thread_mentions_its_online_followers_only(client, server, alice, bob, carol, add_member):
    await add_member(bob)
    await add_member(carol)
    thread = await thread_on(client, server, alice)
    await message(client, server, bob, "following", thread["id"])
    b, c = await connect(client, bob), await connect(client, carol)  # both online, carol not following
    sent = await message(client, server, alice, "@here quick", thread["id"])
    event = await next_event(b, "notification")
    assert (event["kind"], event["messageId"]) == ("mention", sent["id"])
    await no_event(c, "notification")
    unread = {u["channel_id"]: u for u in await (await client.get("/chat/unreads", headers=carol.auth)).json()}
    assert thread["id"] not in unread or unread[thread["id"]]["mention_count"] == 0  # nor counted, nor followed
    bobs = {u["channel_id"]: u for u in await (await client.get("/chat/unreads", headers=bob.auth)).json()}
    assert bobs[thread["id"]]["mention_count"] == 1
    for ws in (b, c):
        await ws.close()


async def test_an_edit_that_adds_here_in_a_thread_mentions_its_online_followers_only(client, server, alice, bob,
                                                                                    carol, add_member):
    await add_member(bob)
    await add_member(carol)
    thread = await thread_on(client, server, alice)
    await message(client, server, bob, "following", thread["id"])
    b, c = await connect(client, bob), await connect(client, carol)  # both online, carol not following
    sent = await message(client, server, alice, "quick", thread["id"])
    resp = await client.patch(f"{server.url}/channels/{thread['id']}/messages/{sent['id']}",
                              json={"text": "@here quick"}, headers=alice.auth)
    assert resp.status == 200, await resp.text()
    assert [m["id"] for m in await mentions_of(client, bob)] == [sent["id"]]
    assert await mentions_of(client, carol) == []  # not mentioned, as by a message with @here
    for ws in (b, c):
        await ws.close()


async def test_an_all_setting_hears_a_threads_messages_only_while_following(client, server, alice, bob, carol,
                                                                           add_member):
    await add_member(bob)
    await add_member(carol)
    await subscribe(client.app, bob, carol)
    thread = await thread_on(client, server, alice)
    await message(client, server, bob, "following", thread["id"])
    for person in (bob, carol):
        await settle(client, person, scope="server", target=server.id, level="all")
    b, c = await connect(client, bob), await connect(client, carol)
    first = await message(client, server, alice, "plain", thread["id"])
    assert (await next_event(b, "notification"))["kind"] == "message"
    await no_event(c, "notification")
    assert await recipients_of(client.app, first["id"]) == [(bob.id, "message")]
    await follow(client, carol, thread["id"])  # the process knows the thread's followers: the note tells it
    followed = await message(client, server, alice, "now carol too", thread["id"])
    assert (await next_event(c, "notification"))["messageId"] == followed["id"]
    assert (await next_event(b, "notification"))["messageId"] == followed["id"]
    assert sorted(await recipients_of(client.app, followed["id"])) == sorted([(bob.id, "message"),
                                                                              (carol.id, "message")])
    await follow(client, carol, thread["id"], following=False)
    left = await message(client, server, alice, "carol left", thread["id"])
    assert (await next_event(b, "notification"))["messageId"] == left["id"]
    await no_event(c, "notification")
    for ws in (b, c):
        await ws.close()


async def test_an_edit_saying_everyone_in_a_thread_notifies_its_followers_only(client, server, alice, bob, carol,
                                                                              add_member):
    await add_member(bob)
    await add_member(carol)
    thread = await thread_on(client, server, alice)
    await message(client, server, bob, "following", thread["id"])
    sent = await message(client, server, alice, "soon", thread["id"])
    b, c = await connect(client, bob), await connect(client, carol)
    resp = await client.patch(f"{server.url}/channels/{thread['id']}/messages/{sent['id']}",
                              json={"text": "@everyone now"}, headers=alice.auth)
    assert resp.status == 200
    assert (await next_event(b, "notification"))["messageId"] == sent["id"]
    await no_event(c, "notification")
    for ws in (b, c):
        await ws.close()


async def test_the_followers_each_process_keeps_follow_the_follows_made_on_another(start, http, alice, bob, carol):
    one, two = await start(), await start()
    server_id, channel_id = await make_server(http, one, alice, bob, carol)
    root = await post(http, one, alice, server_id, channel_id, "root")
    async with http.post(f"{one.url}/chat/servers/{server_id}/channels/{channel_id}/messages/{root['id']}/threads",
                         json={"name": "t"}, headers=alice.auth) as resp:
        thread_id = (await resp.json())["id"]
    await post(http, two, bob, server_id, thread_id, "bob follows")
    b, c = await ws_connect(http, two, bob), await ws_connect(http, two, carol)
    followers = f"{one.url}/chat/threads/{thread_id}/followers/@me"

    async def everyone(text: str) -> str:
        sent = await post(http, one, alice, server_id, thread_id, f"@everyone {text}")
        [event] = await collect(b, "notification", 1, timeout=5)  # bob follows: every one reaches him
        assert event["messageId"] == sent["id"]
        return sent["id"]

    await everyone("one")  # process two reads the thread's followers: bob
    async with http.put(followers, headers=carol.auth) as resp:
        assert resp.status == 204
    told = await everyone("two")
    [event] = await collect(c, "notification", 1, timeout=5)
    assert event["messageId"] == told
    async with http.delete(followers, headers=carol.auth) as resp:
        assert resp.status == 204
    await everyone("three")
    last = await everyone("four")
    async with http.put(followers, headers=carol.auth) as resp:  # what carol hears next tells what she heard before
        assert resp.status == 204
    after = await everyone("five")
    assert [e["messageId"] for e in await collect(c, "notification", 1, timeout=5)] == [after]
    assert last != after


async def test_whom_an_edit_names_in_a_thread_follows_it(client, server, alice, bob, carol, add_member):
    await add_member(bob)
    await add_member(carol)
    thread = await thread_on(client, server, alice)
    sent = await message(client, server, alice, "soon", thread["id"])
    c = await connect(client, carol)
    resp = await client.patch(f"{server.url}/channels/{thread['id']}/messages/{sent['id']}",
                              json={"text": "@carol look"}, headers=alice.auth)
    assert resp.status == 200
    assert (await next_event(c, "notification"))["messageId"] == sent["id"]
    everyone = await message(client, server, alice, "@everyone next", thread["id"])  # carol follows now
    assert (await next_event(c, "notification"))["messageId"] == everyone["id"]
    await c.close()
