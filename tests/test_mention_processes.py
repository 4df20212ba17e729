"""Mentions across two real chatd processes: counts stay exact while mentioning sends race on
both, and each recipient's sockets on either process get their notification, per their settings
(cached by each process, refreshed by the settings' note)."""

from __future__ import annotations

import asyncio
import random

from tests.test_gateway_processes import collect, make_server, post, ws_connect


async def mention_count(http, chatd, person, channel_id) -> int:
    async with http.get(chatd.url + "/chat/unreads", headers=person.auth) as resp:
        assert resp.status == 200
        return {e["channel_id"]: e for e in await resp.json()}[channel_id]["mention_count"]


async def test_mention_counts_are_exact_after_concurrent_sends_on_two_processes(start, http, alice, bob, carol):
    one, two = await start(), await start()
    server_id, channel_id = await make_server(http, one, alice, bob, carol)
    rng = random.Random(20)
    sent: list[dict] = []

    async def sender(person, count):
        for i in range(count):
            text = rng.choice([f"@bob {i}", f"<@{carol.id}> {i}", f"@BOB and @carol {i}", f"plain {i}",
                               f"@everyone {i}", f"@Alice {i}"])  # @everyone from alice (ADMIN) only
            sent.append(await post(http, rng.choice((one, two)), person, server_id, channel_id, text))

    await asyncio.gather(sender(alice, 30), sender(bob, 30), sender(carol, 30))
    for person in (alice, bob, carol):
        # "Mark unread" from the start: every mention by the others counts.
        async with http.put(f"{two.url}/chat/servers/{server_id}/channels/{channel_id}/read-state",
                            json={"last_read_seq": 0}, headers=person.auth) as resp:
            assert resp.status == 200
        expected = sum(1 for m in sent if m["user_id"] != str(person.id)
                       and (str(person.id) in m["mentions"] or m["mention_everyone"]))
        assert expected > 5
        for chatd in (one, two):
            assert await mention_count(http, chatd, person, channel_id) == expected, person.name
    assert all(not m["mention_everyone"] for m in sent if m["user_id"] != str(alice.id))


async def test_notifications_reach_the_recipients_sockets_on_both_processes(start, http, alice, bob, carol):
    one, two = await start(), await start()
    server_id, channel_id = await make_server(http, one, alice, bob, carol)
    here, there = await ws_connect(http, one, bob), await ws_connect(http, two, bob)
    sender = await ws_connect(http, two, alice)
    sent = await post(http, one, alice, server_id, channel_id, "@bob look")
    for ws in (here, there):
        [event] = await collect(ws, "notification", 1)
        assert (event["kind"], event["messageId"], event["from"]["username"]) == ("mention", sent["id"], "alice")
    # A setting made on one process reaches the other's cache: a plain message notifies bob now.
    async with http.put(f"{one.url}/chat/users/@me/notification-settings/channel/{channel_id}",
                        json={"level": "all"}, headers=bob.auth) as resp:
        assert resp.status == 200
    for ws in (here, there):
        await collect(ws, "notification_settings_updated", 1)
    plain = await post(http, two, carol, server_id, channel_id, "plain")
    for ws in (here, there):
        [event] = await collect(ws, "notification", 1)
        assert (event["kind"], event["messageId"]) == ("message", plain["id"])
    # The sender's own socket hears nothing: the next notification it gets is carol's mention of her.
    mention = await post(http, one, carol, server_id, channel_id, "@alice you too")
    [event] = await collect(sender, "notification", 1)
    assert event["messageId"] == mention["id"]
