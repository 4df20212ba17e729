"""Mentions: resolved by the send and edit statements against the membership and roles of the
moment, counted exactly, listed by GET /chat/mentions; notification settings; the
`notification` event each recipient's socket gets, decided from the note and their settings."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest

from chatd import keys
from chatd.domain import notifications
from chatd.domain.mentions import candidates
from tests.test_gateway import connect, next_event, no_event


async def post(client, server, person, text: str, **extra) -> dict:
    resp = await client.post(f"{server.url}/channels/{server.general}/messages", json={"text": text, **extra},
                             headers=person.auth)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def edit(client, server, person, message_id: str, text: str) -> dict:
    resp = await client.patch(f"{server.url}/channels/{server.general}/messages/{message_id}", json={"text": text},
                              headers=person.auth)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def mention_count(client, server, person) -> int:
    resp = await client.get("/chat/unreads", headers=person.auth)
    return {e["channel_id"]: e for e in await resp.json()}[server.general]["mention_count"]


async def mentions_of(client, person, **params) -> list[dict]:
    resp = await client.get("/chat/mentions", params=params, headers=person.auth)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def settle(client, person, **setting):
    """A setting, and the round trip after it that its note has reached this process by."""
    scope, target = setting.pop("scope"), setting.pop("target")
    resp = await client.put(f"/chat/users/@me/notification-settings/{scope}/{target}", json=setting,
                            headers=person.auth)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def online(db, test_queries, *people) -> None:
    """Until presence has written each person's socket (what @here reads)."""
    async with asyncio.timeout(10):
        for person in people:
            while not await test_queries.has_open_socket(db, user_id=person.id):
                await asyncio.sleep(0.05)


def test_candidates_are_ids_names_everyone_and_here_not_addresses():
    some = uuid4()
    found = candidates(f"hi <@{some}> and @Bob, @bob. mail bob@example.com @everyone @here @x")
    assert (found.ids, found.names, found.everyone, found.here) == ((some,), ("bob",), True, True)
    assert candidates("nothing here").ids == ()


async def test_a_user_mention_by_id_or_by_name_in_any_case_resolves_to_members_only(
        client, server, alice, bob, carol, add_member, make_user, db, test_queries):
    await add_member(bob)
    await add_member(carol)
    outsider = await make_user("outsider")
    watcher = await connect(client, bob)
    sent = await post(client, server, alice, f"<@{carol.id}> and @BOB, also @outsider <@{outsider.id}> @nobody")
    assert sorted(sent["mentions"]) == sorted([str(bob.id), str(carol.id)])
    assert sent["mention_everyone"] is False
    assert sent["text"] == f"<@{carol.id}> and @BOB, also @outsider <@{outsider.id}> @nobody"  # stored as typed
    event = await next_event(watcher, "new_message")
    assert (sorted(event["mentions"]), event["mentionEveryone"]) == (sorted(sent["mentions"]), False)
    rows = [(r["user_id"], r["kind"]) async for r in test_queries.mention_rows_of(db, message_id=sent["id"])]
    assert sorted(rows) == sorted([(bob.id, "user"), (carol.id, "user")])  # the outsider: no row, nobody
    assert (await mention_count(client, server, bob), await mention_count(client, server, carol)) == (1, 1)
    history = await (await client.get(f"{server.url}/channels/{server.general}/messages", headers=bob.auth)).json()
    assert sorted(history[-1]["mentions"]) == sorted(sent["mentions"])
    assert (await client.get("/chat/unreads", headers=outsider.auth)).status == 200
    assert await mentions_of(client, outsider) == []


async def test_everyone_from_a_member_is_plain_text_and_from_a_moderator_one_flag(
        client, server, alice, bob, carol, add_member, db, test_queries):
    await add_member(bob)
    await add_member(carol, "MODERATOR")
    watcher = await connect(client, alice)
    plain = await post(client, server, bob, "@everyone look")
    assert (plain["mention_everyone"], plain["mentions"]) == (False, [])
    await no_event(watcher, "notification")
    assert await mention_count(client, server, alice) == 0
    loud = await post(client, server, carol, "@everyone look")
    assert loud["mention_everyone"] is True
    assert [r async for r in test_queries.mention_rows_of(db, message_id=loud["id"])] == []  # no row per member
    event = await next_event(watcher, "notification")
    assert (event["kind"], event["messageId"], event["from"]) == (
        "mention", loud["id"], {"userId": str(carol.id), "username": "carol"})
    assert (await mention_count(client, server, alice), await mention_count(client, server, bob)) == (1, 1)
    assert [m["id"] for m in await mentions_of(client, bob)] == [loud["id"]]
    assert await mentions_of(client, carol) == []  # one's own message is no mention of oneself


async def test_here_mentions_the_members_with_a_socket_open_only_and_new_message_says_so(
        client, server, alice, bob, carol, add_member, db, test_queries):
    await add_member(bob)
    await add_member(carol)
    present = await connect(client, bob)
    await online(db, test_queries, bob)
    plain = await post(client, server, carol, "@here anyone?")  # a MEMBER's: plain text
    assert [r async for r in test_queries.mention_rows_of(db, message_id=plain["id"])] == []
    sent = await post(client, server, alice, "@here standup")
    rows = [(r["user_id"], r["kind"]) async for r in test_queries.mention_rows_of(db, message_id=sent["id"])]
    assert rows == [(bob.id, "here")]
    assert sent["mentions"] == [] and sent["mention_everyone"] is False
    # The socket that hears it counts it on its badge: its new_message says @here counted.
    heard = [await next_event(present, "new_message") for _ in range(2)]
    assert [(e["id"], e["mentionHere"]) for e in heard] == [(plain["id"], False), (sent["id"], True)]
    event = await next_event(present, "notification")
    assert (event["kind"], event["messageId"], event["preview"]) == ("mention", sent["id"], "@here standup")
    assert (await mention_count(client, server, bob), await mention_count(client, server, carol)) == (1, 0)


async def test_an_edit_recomputes_mentions_and_notifies_only_those_it_mentions_newly(
        client, server, alice, bob, carol, add_member, db, test_queries):
    await add_member(bob)
    await add_member(carol)
    b, c = await connect(client, bob), await connect(client, carol)
    sent = await post(client, server, alice, "hello @bob")
    assert (await next_event(b, "notification"))["messageId"] == sent["id"]
    edited = await edit(client, server, alice, sent["id"], "hello @bob and @carol")
    assert sorted(edited["mentions"]) == sorted([str(bob.id), str(carol.id)])
    event = await next_event(c, "message_updated")
    assert sorted(event["mentions"]) == sorted(edited["mentions"]) and event["mentionEveryone"] is False
    assert (await next_event(c, "notification"))["preview"] == "hello @bob and @carol"
    await no_event(b, "notification")  # mentioned before the edit: told then
    assert (await mention_count(client, server, bob), await mention_count(client, server, carol)) == (1, 1)
    removed = await edit(client, server, alice, sent["id"], "hello nobody")
    assert removed["mentions"] == []
    assert [r async for r in test_queries.mention_rows_of(db, message_id=sent["id"])] == []
    assert (await mention_count(client, server, bob), await mention_count(client, server, carol)) == (0, 0)
    assert await mentions_of(client, bob) == []


async def test_a_reply_mentions_its_author_unless_the_replier_says_not(
        client, server, alice, bob, add_member, db, test_queries):
    await add_member(bob)
    watcher = await connect(client, alice)
    first = await post(client, server, alice, "question")
    answer = await post(client, server, bob, "answer", reply_to=first["id"])
    assert answer["mentions"] == []  # the reply's author is not in `mentions`, but is mentioned:
    rows = [(r["user_id"], r["kind"]) async for r in test_queries.mention_rows_of(db, message_id=answer["id"])]
    assert rows == [(alice.id, "reply")]
    assert "mentionReply" not in await next_event(watcher, "new_message")  # the question: no reply
    heard = await next_event(watcher, "new_message")
    assert (heard["id"], heard["mentionReply"]) == (answer["id"], True)
    event = await next_event(watcher, "notification")
    assert (event["kind"], event["messageId"]) == ("reply", answer["id"])
    quiet = await post(client, server, bob, "aside", reply_to=first["id"], mention_reply=False)
    assert [r async for r in test_queries.mention_rows_of(db, message_id=quiet["id"])] == []
    heard = await next_event(watcher, "new_message")
    assert (heard["id"], heard["mentionReply"]) == (quiet["id"], False)  # a client counts no mention
    await no_event(watcher, "notification")
    assert [m["id"] for m in await mentions_of(client, alice)] == [answer["id"]]
    # The same over the WebSocket.
    replier = await connect(client, bob)
    await replier.send_json({"type": "send_message", "serverId": server.id, "channelId": server.general,
                             "text": "again", "replyTo": first["id"], "mentionReply": False})
    await next_event(replier, "new_message")
    await no_event(watcher, "notification")


async def test_the_mentions_inbox_pages_newest_first_and_drops_deleted_and_unreadable(
        client, server, alice, bob, add_member):
    await add_member(bob, "MODERATOR")
    sent = [await post(client, server, bob, text) for text in ("@alice one", "@everyone two", "@ALICE three")]
    await post(client, server, bob, "not about alice")
    got = await mentions_of(client, alice)
    assert [m["id"] for m in got] == [m["id"] for m in reversed(sent)]
    assert got[0]["mentions"] == [str(alice.id)] and got[1]["mention_everyone"] is True
    page = await mentions_of(client, alice, limit=1, before=sent[2]["id"])
    assert [m["id"] for m in page] == [sent[1]["id"]]
    assert [m["id"] for m in await mentions_of(client, alice, before=sent[1]["id"])] == [sent[0]["id"]]
    resp = await client.delete(f"{server.url}/channels/{server.general}/messages/{sent[0]['id']}", headers=bob.auth)
    assert resp.status == 204
    assert [m["id"] for m in await mentions_of(client, alice)] == [sent[2]["id"], sent[1]["id"]]
    other = await (await client.post("/chat/servers", json={"name": "Other"}, headers=bob.auth)).json()
    channels = await (await client.get(f"/chat/servers/{other['id']}/channels", headers=bob.auth)).json()
    resp = await client.post(f"/chat/servers/{other['id']}/members", json={"user_id": str(alice.id)},
                             headers=bob.auth)
    assert resp.status == 201
    resp = await client.post(f"/chat/servers/{other['id']}/channels/{channels[0]['id']}/messages",
                             json={"text": "@alice elsewhere"}, headers=bob.auth)
    elsewhere = await resp.json()
    assert [m["id"] for m in await mentions_of(client, alice)][0] == elsewhere["id"]  # across servers
    assert (await client.delete(f"/chat/servers/{other['id']}/members/{alice.id}", headers=bob.auth)).status == 204
    assert elsewhere["id"] not in [m["id"] for m in await mentions_of(client, alice)]  # no longer readable


@pytest.mark.parametrize("query,detail", [
    ({"limit": "0"}, "limit must be at least 1"),
    ({"limit": "many"}, "limit must be a whole number"),
    ({"before": "nope"}, "before is not a valid id"),
    ({"before": str(uuid4())}, "before is not a message"),
])
async def test_the_mentions_inbox_refuses_bad_paging(client, alice, query, detail):
    resp = await client.get("/chat/mentions", params=query, headers=alice.auth)
    assert resp.status == 400
    assert (await resp.json())["detail"].startswith(detail)


async def test_settings_are_listed_and_override_the_defaults(client, server, alice, bob, add_member):
    await add_member(bob)
    assert await (await client.get("/chat/users/@me/notification-settings", headers=bob.auth)).json() == []
    until = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    a = await settle(client, bob, scope="server", target=server.id, level="none")
    b = await settle(client, bob, scope="channel", target=server.general, level="all", muted_until=until)
    assert a == {"scope": "server", "id": server.id, "level": "none", "muted_until": None}
    assert (b["level"], datetime.fromisoformat(b["muted_until"])) == ("all", datetime.fromisoformat(until))
    listed = await (await client.get("/chat/users/@me/notification-settings", headers=bob.auth)).json()
    assert sorted(listed, key=lambda s: s["scope"]) == [b, a]
    changed = await settle(client, bob, scope="channel", target=server.general, level="mentions", muted_until=None)
    assert changed["muted_until"] is None


@pytest.mark.parametrize("path,body,status", [
    ("guild/{server}", {"level": "all"}, 400),
    ("server/{server}", {"level": "loud"}, 400),
    ("server/{server}", {}, 400),
    ("server/{server}", {"level": "all", "muted_until": "2030-01-01T00:00:00"}, 400),  # no time zone
    ("server/{server}", {"level": "all", "extra": 1}, 400),
    ("server/{general}", {"level": "all"}, 404),  # a channel's id is no server
    ("channel/{server}", {"level": "all"}, 404),
    ("dm/{general}", {"level": "all"}, 404),  # a server's channel is no conversation
    ("server/{unknown}", {"level": "all"}, 404),
    ("server/not-an-id", {"level": "all"}, 404),
])
async def test_bad_settings_are_refused(client, server, alice, path, body, status):
    ids = {"server": server.id, "general": server.general, "unknown": uuid4()}
    resp = await client.put("/chat/users/@me/notification-settings/" + path.format(**ids), json=body,
                            headers=alice.auth)
    assert resp.status == status, await resp.text()
    assert "detail" in await resp.json()


async def test_a_server_the_caller_is_not_in_is_not_found_for_settings(client, server, bob):
    for scope, target in (("server", server.id), ("channel", server.general)):
        resp = await client.put(f"/chat/users/@me/notification-settings/{scope}/{target}", json={"level": "all"},
                                headers=bob.auth)
        assert resp.status == 404


async def test_notifications_follow_the_settings_as_they_change(client, server, alice, bob, add_member):
    await add_member(bob)
    b = await connect(client, bob)
    await post(client, server, alice, "plain")
    await no_event(b, "notification")  # server channels: mentions only by default
    await settle(client, bob, scope="server", target=server.id, level="all")
    await next_event(b, "notification_settings_updated")
    sent = await post(client, server, alice, "x" * 150)
    event = await next_event(b, "notification")
    assert event == {"type": "notification", "kind": "message", "messageId": sent["id"], "channelId": server.general,
                     "serverId": server.id, "from": {"userId": str(alice.id), "username": "alice"},
                     "preview": "x" * 100}
    await settle(client, bob, scope="channel", target=server.general, level="none")  # the channel overrides
    await next_event(b, "notification_settings_updated")
    await post(client, server, alice, "@bob not even this")
    await no_event(b, "notification")
    until = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    await settle(client, bob, scope="channel", target=server.general, level="all", muted_until=until)
    await next_event(b, "notification_settings_updated")
    await post(client, server, alice, "@bob muted")
    await no_event(b, "notification")
    past = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()
    await settle(client, bob, scope="channel", target=server.general, level="mentions", muted_until=past)
    await next_event(b, "notification_settings_updated")
    again = await post(client, server, alice, "@bob the mute is over")
    assert (await next_event(b, "notification"))["messageId"] == again["id"]
    # A setting made while no socket of bob's is open is read by his next connect.
    await b.close()
    await settle(client, bob, scope="channel", target=server.general, level="all")
    fresh = await connect(client, bob)
    plain = await post(client, server, alice, "plain again")
    event = await next_event(fresh, "notification")
    assert (event["kind"], event["messageId"]) == ("message", plain["id"])


async def test_a_conversation_notifies_its_people_by_default_but_not_its_sender(client, server, alice, bob,
                                                                              add_member):
    await add_member(bob)
    dm = await (await client.post("/chat/dms", json={"recipient_ids": [str(bob.id)]}, headers=alice.auth)).json()
    a, b = await connect(client, alice), await connect(client, bob)
    resp = await client.post(f"/chat/dms/{dm['id']}/messages", json={"text": "psst"}, headers=alice.auth)
    sent = await resp.json()
    event = await next_event(b, "notification")
    assert (event["kind"], event["serverId"], event["channelId"]) == ("dm", None, dm["id"])
    await no_event(a, "notification")
    await settle(client, bob, scope="dm", target=dm["id"], level="mentions")
    await next_event(b, "notification_settings_updated")
    await client.post(f"/chat/dms/{dm['id']}/messages", json={"text": "again"}, headers=alice.auth)
    await no_event(b, "notification")
    await subscribe(client.app, bob)
    assert await recipients_of(client.app, sent["id"]) == []  # bob asked for mentions only


async def recipients_of(app, message_id: str) -> list:
    return (await notifications.recipients(app, [UUID(message_id)]))[UUID(message_id)]


async def subscribe(app, *people) -> None:
    """A push subscription for each (its keys are never used: nothing is sent here)."""
    for person in people:
        await app[keys.queries].save_push_subscription(app[keys.pool], user_id=person.id, p256dh="key", auth="auth",
                                                       endpoint=f"https://push.test/{person.id}")


async def test_recipients_for_push_apply_the_same_rule(client, server, alice, bob, carol, add_member):
    """chatd.domain.notifications.recipients: what Web Push sends to users with no socket open."""
    await add_member(bob)
    await add_member(carol, "MODERATOR")
    app = client.app
    sent = await post(client, server, alice, "@bob hi")
    assert await recipients_of(app, sent["id"]) == []  # only users with a push subscription
    await subscribe(app, alice, bob)
    assert await recipients_of(app, sent["id"]) == [(bob.id, "mention")]
    reply = await post(client, server, carol, "re", reply_to=sent["id"])
    assert await recipients_of(app, reply["id"]) == [(alice.id, "reply")]
    everyone = await post(client, server, carol, "@everyone meeting")
    assert sorted(await recipients_of(app, everyone["id"])) == sorted([(alice.id, "mention"),
                                                                                  (bob.id, "mention")])
    await settle(client, bob, scope="server", target=server.id, level="all")
    plain = await post(client, server, alice, "plain")
    assert await recipients_of(app, plain["id"]) == [(bob.id, "message")]
    # Web Push asks once for every message a group commit stored.
    both = await notifications.recipients(app, [UUID(reply["id"]), UUID(plain["id"])])
    assert {k: sorted(v) for k, v in both.items()} == {
        UUID(reply["id"]): sorted([(alice.id, "reply"), (bob.id, "message")]),  # bob now hears all
        UUID(plain["id"]): [(bob.id, "message")]}
    until = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    await settle(client, bob, scope="server", target=server.id, level="all", muted_until=until)
    assert await recipients_of(app, sent["id"]) == []
    assert app[keys.pool] is not None


async def test_a_mention_reply_that_is_not_a_boolean_is_refused(client, server, alice):
    resp = await client.post(f"{server.url}/channels/{server.general}/messages",
                             json={"text": "hi", "mention_reply": "no"}, headers=alice.auth)
    assert resp.status == 400
    assert "mention_reply" in (await resp.json())["detail"]
    ws = await connect(client, alice)
    await ws.send_json({"type": "send_message", "serverId": server.id, "channelId": server.general, "text": "hi",
                        "mentionReply": "no"})
    assert (await next_event(ws, "error"))["message"]
