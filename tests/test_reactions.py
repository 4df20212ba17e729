"""Reactions: PUT/DELETE .../messages/{mid}/reactions/{emoji}/@me, removing others' and clearing
(MODERATOR and up), listing who reacted, the events every member's socket receives, history's
`reactions`, and their replay by GET .../changes and resume."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import replace
from urllib.parse import quote
from uuid import uuid4

import pytest

from chatd.app import create_app
from chatd.config import RateLimit
from chatd.domain.errors import Forbidden
from chatd.domain.permissions import MessageFacts, check_remove_reaction
from chatd.domain.schemas import User

from test_gateway import connect, next_event, no_event

HEART, HEART_PLAIN = "\u2764\ufe0f", "\u2764"  # "❤️" (fully qualified) and "❤" (the text spelling)
THUMBS = "\U0001F44D"
EMOJI = ["\U0001F600", "\U0001F601", "\U0001F602", "\U0001F603", "\U0001F604", "\U0001F605", "\U0001F606",
         "\U0001F607", "\U0001F608", "\U0001F609", "\U0001F60A", "\U0001F60B", "\U0001F60C", "\U0001F60D",
         "\U0001F60E", "\U0001F60F", "\U0001F610", "\U0001F611", "\U0001F612", "\U0001F613", "\U0001F614",
         "\U0001F615", "\U0001F616", "\U0001F617", "\U0001F618"]  # 25 distinct faces


def reactions_url(server, message_id: str, tail: str = "", channel_id: str | None = None) -> str:
    return f"{server.url}/channels/{channel_id or server.general}/messages/{message_id}/reactions{tail}"


def mine(server, message_id: str, emoji: str) -> str:
    return reactions_url(server, message_id, f"/{quote(emoji)}/@me")


async def post(client, server, person, text: str = "hello") -> str:
    resp = await client.post(f"{server.url}/channels/{server.general}/messages", json={"text": text},
                             headers=person.auth)
    assert resp.status == 201, await resp.text()
    return (await resp.json())["id"]


async def react(client, server, person, message_id: str, emoji: str, expect: int = 204):
    resp = await client.put(mine(server, message_id, emoji), headers=person.auth)
    assert resp.status == expect, await resp.text()
    return resp


async def history(client, server, person, query: str = "") -> list[dict]:
    resp = await client.get(f"{server.url}/channels/{server.general}/messages{query}", headers=person.auth)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def changes(client, server, person, after: int) -> list[dict]:
    resp = await client.get(f"{server.url}/channels/{server.general}/changes?after_event_seq={after}",
                            headers=person.auth)
    assert resp.status == 200, await resp.text()
    return await resp.json()


def reaction(kind: str, server, message_id: str, person, emoji: str, event_seq: int) -> dict:
    return {"type": kind, "messageId": message_id, "userId": str(person.id), "emoji": emoji,
            "serverId": server.id, "channelId": server.general, "eventSeq": event_seq}


@pytest.fixture
async def message(client, server, alice, bob, add_member) -> str:
    """A message of alice's in #general, where bob is a MEMBER."""
    await add_member(bob)
    return await post(client, server, alice)


# Adding and removing, and the events.


async def test_a_reaction_reaches_every_member_as_reaction_added_with_its_event_seq(client, server, alice, bob,
                                                                                     message, test_queries, db):
    ws = await connect(client, bob)
    before = await test_queries.get_last_event_seq(db, channel_id=server.general)
    await react(client, server, alice, message, THUMBS)
    assert await next_event(ws, "reaction_added") == reaction("reaction_added", server, message, alice, THUMBS,
                                                              before + 1)


async def test_reacting_again_is_204_and_takes_no_event_seq_and_sends_nothing(client, server, alice, bob,
                                                                              message, test_queries, db):
    ws = await connect(client, bob)
    await react(client, server, alice, message, THUMBS)
    first = await next_event(ws, "reaction_added")
    await react(client, server, alice, message, THUMBS)
    await no_event(ws, "reaction_added")
    assert await test_queries.get_last_event_seq(db, channel_id=server.general) == first["eventSeq"]
    await post(client, server, alice, "after")
    assert (await next_event(ws, "new_message"))["eventSeq"] == first["eventSeq"] + 1


async def test_removing_a_reaction_twice_sends_one_reaction_removed(client, server, alice, bob, message):
    ws = await connect(client, bob)
    await react(client, server, alice, message, THUMBS)
    added = await next_event(ws, "reaction_added")
    for _ in range(2):
        resp = await client.delete(mine(server, message, THUMBS), headers=alice.auth)
        assert resp.status == 204
    assert await next_event(ws, "reaction_removed") == reaction("reaction_removed", server, message, alice, THUMBS,
                                                                added["eventSeq"] + 1)
    await no_event(ws, "reaction_removed")


async def test_removing_a_reaction_that_was_never_there_is_204_and_sends_nothing(client, server, alice, bob,
                                                                                 message):
    ws = await connect(client, bob)
    resp = await client.delete(mine(server, message, THUMBS), headers=alice.auth)
    assert resp.status == 204
    await no_event(ws, "reaction_removed")


async def test_two_spellings_of_a_heart_are_one_reaction_stored_fully_qualified(client, server, alice, bob,
                                                                                message):
    ws = await connect(client, bob)
    await react(client, server, alice, message, HEART_PLAIN)
    assert (await next_event(ws, "reaction_added"))["emoji"] == HEART
    await react(client, server, alice, message, HEART)  # the same reaction again: nothing new
    await no_event(ws, "reaction_added")
    await react(client, server, bob, message, HEART)
    [page] = await history(client, server, alice)
    assert page["reactions"] == [{"emoji": HEART, "count": 2, "me": True}]
    # Removing by the other spelling removes it.
    assert (await client.delete(mine(server, message, HEART_PLAIN), headers=bob.auth)).status == 204
    [page] = await history(client, server, alice)
    assert page["reactions"] == [{"emoji": HEART, "count": 1, "me": True}]


@pytest.mark.parametrize("emoji", [
    "\U0001F44D\U0001F3FD",  # thumbs up, medium skin tone
    "\U0001F468\u200d\U0001F469\u200d\U0001F467",  # family: man, woman, girl (ZWJ)
    "\U0001F1EB\U0001F1F7",  # the flag of France
])
async def test_skin_tone_zwj_and_flag_sequences_are_one_emoji(client, server, alice, message, emoji):
    await react(client, server, alice, message, emoji)
    [page] = await history(client, server, alice)
    assert page["reactions"] == [{"emoji": emoji, "count": 1, "me": True}]


# Bad input.

NOT_ONE_EMOJI = [
    ("\U0001F44D\U0001F44D", "emoji must be one emoji, not 2"),
    (HEART + THUMBS, "emoji must be one emoji, not 2"),
    ("hello", "emoji must be one Unicode emoji"),
    ("a" + THUMBS, "emoji must be one Unicode emoji"),
    (":thumbs_up:", "emoji must be one Unicode emoji"),
    ("\U0001F3FD", "emoji must be one Unicode emoji"),  # a skin tone alone
    ("", "emoji is empty: name one emoji"),
    ("\ufe0f", "emoji is only a variation selector: name one emoji"),
]


@pytest.mark.parametrize("emoji, detail", NOT_ONE_EMOJI)
@pytest.mark.parametrize("method, tail", [("PUT", "/@me"), ("DELETE", "/@me"), ("GET", "")])
async def test_something_that_is_not_one_emoji_is_a_400_naming_the_problem(client, server, alice, message,
                                                                           emoji, detail, method, tail):
    resp = await client.request(method, reactions_url(server, message, f"/{quote(emoji)}{tail}"), headers=alice.auth)
    assert resp.status == 400
    assert await resp.json() == {"detail": detail}


async def test_a_21st_distinct_emoji_is_a_409_while_the_20_still_take_more_reactors(client, server, alice, bob,
                                                                                   message):
    for emoji in EMOJI[:20]:
        await react(client, server, alice, message, emoji)
    resp = await react(client, server, bob, message, EMOJI[20], expect=409)
    assert await resp.json() == {"detail": "a message takes at most 20 different emoji: react with one it has"}
    await react(client, server, bob, message, EMOJI[0])
    [page] = await history(client, server, bob)
    assert len(page["reactions"]) == 20
    assert page["reactions"][0] == {"emoji": EMOJI[0], "count": 2, "me": True}


async def test_reacting_to_an_unknown_message_is_a_404(client, server, alice):
    resp = await client.put(mine(server, str(uuid4()), THUMBS), headers=alice.auth)
    assert resp.status == 404
    assert await resp.json() == {"detail": "message not found"}


async def test_reacting_to_a_message_of_another_channel_is_a_404(client, server, alice, message):
    resp = await client.post(f"{server.url}/channels", json={"name": "news"}, headers=alice.auth)
    news = (await resp.json())["id"]
    url = reactions_url(server, message, f"/{quote(THUMBS)}/@me", channel_id=news)
    resp = await client.put(url, headers=alice.auth)
    assert resp.status == 404
    assert await resp.json() == {"detail": "message not found"}


async def test_a_voice_channel_has_no_messages_to_react_to(client, server, alice, message):
    resp = await client.post(f"{server.url}/channels", json={"name": "talk", "type": "VOICE"}, headers=alice.auth)
    voice = (await resp.json())["id"]
    resp = await client.put(reactions_url(server, message, f"/{quote(THUMBS)}/@me", channel_id=voice),
                            headers=alice.auth)
    assert resp.status == 400
    assert await resp.json() == {"detail": "this is a VOICE channel: it has no messages"}


@pytest.mark.parametrize("method, tail", [
    ("PUT", f"/{quote(THUMBS)}/@me"), ("DELETE", f"/{quote(THUMBS)}/@me"), ("GET", f"/{quote(THUMBS)}"),
    ("DELETE", ""),
])
async def test_a_deleted_message_is_a_404_for_every_reaction_route(client, server, alice, message, method, tail):
    await react(client, server, alice, message, THUMBS)
    resp = await client.delete(f"{server.url}/channels/{server.general}/messages/{message}", headers=alice.auth)
    assert resp.status == 204
    resp = await client.request(method, reactions_url(server, message, tail), headers=alice.auth)
    assert resp.status == 404
    assert await resp.json() == {"detail": "message not found"}


@pytest.mark.parametrize("method, tail", [
    ("PUT", f"/{quote(THUMBS)}/@me"), ("DELETE", f"/{quote(THUMBS)}/@me"), ("GET", f"/{quote(THUMBS)}"),
    ("DELETE", ""),
])
async def test_a_non_member_gets_a_404_for_every_reaction_route(client, server, alice, carol, message,
                                                                method, tail):
    await react(client, server, alice, message, THUMBS)
    resp = await client.request(method, reactions_url(server, message, tail), headers=carol.auth)
    assert resp.status == 404
    assert await resp.json() == {"detail": "server not found"}


# Others' reactions: MODERATORs and ADMINs.


def test_anyone_removes_their_own_reaction_and_only_moderators_and_admins_others_or_all():
    actor = User(uuid4(), "actor")
    allowed = set()
    for role, whose in itertools.product(["MEMBER", "MODERATOR", "ADMIN"], ["own", "another's", "all"]):
        target_id = {"own": actor.user_id, "another's": uuid4(), "all": None}[whose]
        try:
            check_remove_reaction(actor, MessageFacts(role, "TEXT", uuid4(), False, None), target_id)
            allowed.add((role, whose))
        except Forbidden:
            pass
    assert allowed == {("MEMBER", "own"), ("MODERATOR", "own"), ("MODERATOR", "another's"), ("MODERATOR", "all"),
                       ("ADMIN", "own"), ("ADMIN", "another's"), ("ADMIN", "all")}


async def test_a_member_removing_anothers_reaction_is_a_403(client, server, alice, bob, message):
    await react(client, server, alice, message, THUMBS)
    resp = await client.delete(reactions_url(server, message, f"/{quote(THUMBS)}/{alice.id}"), headers=bob.auth)
    assert resp.status == 403
    assert await resp.json() == {"detail": "only a MODERATOR or ADMIN can remove others' reactions"}


async def test_a_member_may_remove_their_own_reaction_by_their_id(client, server, bob, message):
    await react(client, server, bob, message, THUMBS)
    resp = await client.delete(reactions_url(server, message, f"/{quote(THUMBS)}/{bob.id}"), headers=bob.auth)
    assert resp.status == 204
    [page] = await history(client, server, bob)
    assert page["reactions"] == []


async def test_a_moderator_removes_a_members_reaction_and_members_hear_it(client, server, alice, bob, carol,
                                                                          add_member, message):
    await add_member(carol, "MODERATOR")
    ws = await connect(client, alice)
    await react(client, server, bob, message, THUMBS)
    added = await next_event(ws, "reaction_added")
    resp = await client.delete(reactions_url(server, message, f"/{quote(THUMBS)}/{bob.id}"), headers=carol.auth)
    assert resp.status == 204
    assert await next_event(ws, "reaction_removed") == reaction("reaction_removed", server, message, bob, THUMBS,
                                                                added["eventSeq"] + 1)


async def test_a_member_clearing_a_messages_reactions_is_a_403(client, server, alice, bob, message):
    await react(client, server, alice, message, THUMBS)
    resp = await client.delete(reactions_url(server, message), headers=bob.auth)
    assert resp.status == 403
    assert await resp.json() == {"detail": "only a MODERATOR or ADMIN can remove others' reactions"}


async def test_clearing_sends_one_reactions_cleared_and_clearing_again_sends_nothing(client, server, alice, bob,
                                                                                   message):
    ws = await connect(client, bob)
    await react(client, server, alice, message, THUMBS)
    await react(client, server, bob, message, HEART)
    await next_event(ws, "reaction_added")
    second = await next_event(ws, "reaction_added")
    for _ in range(2):
        assert (await client.delete(reactions_url(server, message), headers=alice.auth)).status == 204
    assert await next_event(ws, "reactions_cleared") == {
        "type": "reactions_cleared", "messageId": message, "serverId": server.id, "channelId": server.general,
        "eventSeq": second["eventSeq"] + 1}
    await no_event(ws, "reactions_cleared")
    [page] = await history(client, server, alice)
    assert page["reactions"] == []


async def test_a_removed_user_id_that_is_not_an_id_is_a_404(client, server, alice, message):
    resp = await client.delete(reactions_url(server, message, f"/{quote(THUMBS)}/someone"), headers=alice.auth)
    assert resp.status == 404
    assert await resp.json() == {"detail": "user_id is not a valid id"}


# Who reacted.


async def test_listing_who_reacted_pages_by_user_id_with_after_and_limit(client, server, alice, bob, make_user,
                                                                         add_member, message):
    people = [alice, bob]
    for name in ("dan", "erin", "frank"):
        person = await make_user(name)
        await add_member(person)
        people.append(person)
    for person in people:
        await react(client, server, person, message, HEART_PLAIN)
    await react(client, server, alice, message, THUMBS)  # another emoji: not listed
    expected = [{"user_id": str(p.id), "username": p.name} for p in sorted(people, key=lambda p: str(p.id))]
    url = reactions_url(server, message, f"/{quote(HEART)}")
    assert await (await client.get(url, headers=bob.auth)).json() == expected
    first = await (await client.get(url + "?limit=2", headers=bob.auth)).json()
    assert first == expected[:2]
    rest = await (await client.get(f"{url}?limit=2&after={first[-1]['user_id']}", headers=bob.auth)).json()
    assert rest == expected[2:4]
    last = await (await client.get(f"{url}?after={expected[-1]['user_id']}", headers=bob.auth)).json()
    assert last == []


async def test_listing_an_emoji_no_one_used_is_an_empty_list(client, server, alice, message):
    resp = await client.get(reactions_url(server, message, f"/{quote(THUMBS)}"), headers=alice.auth)
    assert resp.status == 200
    assert await resp.json() == []


@pytest.mark.parametrize("query, detail", [
    ("limit=0", "limit must be at least 1"),
    ("limit=ten", "limit must be a whole number, not 'ten'"),
    ("after=someone", "after is not a valid id"),
])
async def test_bad_listing_parameters_are_a_400(client, server, alice, message, query, detail):
    resp = await client.get(reactions_url(server, message, f"/{quote(THUMBS)}?{query}"), headers=alice.auth)
    assert resp.status == 400
    assert await resp.json() == {"detail": detail}


# History.


async def test_history_pages_carry_reactions_in_first_use_order_with_me_per_caller(client, server, alice, bob,
                                                                                   message):
    plain = await post(client, server, bob, "no reactions")
    await react(client, server, bob, message, THUMBS)
    await react(client, server, alice, message, HEART)
    await react(client, server, alice, message, THUMBS)
    as_alice = [{"emoji": THUMBS, "count": 2, "me": True}, {"emoji": HEART, "count": 1, "me": True}]
    as_bob = [{"emoji": THUMBS, "count": 2, "me": True}, {"emoji": HEART, "count": 1, "me": False}]
    last = await post(client, server, alice, "last")
    for query in ("", "?offset=0&limit=10", f"?before={last}", "?after_seq=0"):
        for person, expected in ((alice, as_alice), (bob, as_bob)):
            page = {m["id"]: m["reactions"] for m in await history(client, server, person, query)}
            assert page[message] == expected, (query, person.name)
            assert page[plain] == []


async def test_a_sent_message_answers_with_no_reactions(client, server, alice):
    resp = await client.post(f"{server.url}/channels/{server.general}/messages", json={"text": "hi"},
                             headers=alice.auth)
    assert (await resp.json())["reactions"] == []


async def test_an_edited_message_answers_with_its_reactions(client, server, alice, bob, message):
    await react(client, server, bob, message, THUMBS)
    resp = await client.patch(f"{server.url}/channels/{server.general}/messages/{message}", json={"text": "edited"},
                              headers=alice.auth)
    assert resp.status == 200
    assert (await resp.json())["reactions"] == [{"emoji": THUMBS, "count": 1, "me": False}]


# Replay.


async def test_changes_replay_reaction_events_exactly_as_they_were_delivered(client, server, alice, bob, carol,
                                                                            add_member, message):
    await add_member(carol, "MODERATOR")
    ws = await connect(client, bob)
    start = (await (await client.get(f"{server.url}/channels/{server.general}/messages",
                                     headers=alice.auth)).json())[-1]["event_seq"]
    await react(client, server, alice, message, THUMBS)
    await react(client, server, bob, message, HEART)
    assert (await client.delete(mine(server, message, THUMBS), headers=alice.auth)).status == 204
    assert (await client.delete(reactions_url(server, message), headers=carol.auth)).status == 204
    live = [await next_event(ws, kind) for kind in
            ("reaction_added", "reaction_added", "reaction_removed", "reactions_cleared")]
    assert [e["eventSeq"] for e in live] == [start + 1, start + 2, start + 3, start + 4]
    assert await changes(client, server, bob, start) == live

    resumer = await connect(client, alice)
    await resumer.send_json({"type": "resume", "channels": {server.general: start}})
    replayed = [await resumer.receive_json(timeout=5) for _ in live]
    assert replayed == live
    assert await resumer.receive_json(timeout=5) == {"type": "resumed", "channels": {server.general: start + 4}}


# Concurrency and rate.


async def test_many_users_reacting_at_once_count_exactly_with_gapless_event_seqs(client, server, alice, make_user,
                                                                                 add_member, test_queries, db):
    people = [alice]
    for i in range(24):
        person = await make_user(f"user{i}")
        await add_member(person)
        people.append(person)
    message = await post(client, server, alice)
    await react(client, server, alice, message, HEART)
    start = await test_queries.get_last_event_seq(db, channel_id=server.general)
    # The others add the heart (in either spelling), and everyone a face of their own: 25
    # distinct faces racing for the 19 places the heart leaves.
    results = await asyncio.gather(*(
        client.put(mine(server, message, HEART if i % 2 else HEART_PLAIN), headers=p.auth)
        for i, p in enumerate(people[1:])
    ), *(client.put(mine(server, message, EMOJI[i]), headers=p.auth) for i, p in enumerate(people)))
    assert sorted(r.status for r in results) == [204] * (24 + 19) + [409] * 6
    [page] = await history(client, server, alice)
    counts = {r["emoji"]: r["count"] for r in page["reactions"]}
    assert counts[HEART] == 25
    assert len(counts) == 20 and sum(counts.values()) == 25 + 19
    events = await changes(client, server, alice, start)
    assert [e["eventSeq"] for e in events] == list(range(start + 1, start + 24 + 19 + 1))
    assert {e["type"] for e in events} == {"reaction_added"}
    assert await test_queries.get_last_event_seq(db, channel_id=server.general) == start + 24 + 19


@pytest.fixture
async def limited(aiohttp_client, config, db):
    """A chatd with the default limit: 5 changes per 5 s per channel."""
    return await aiohttp_client(create_app(replace(config, rate_limit=RateLimit(5, 5.0))))


async def test_reacting_too_fast_is_a_429_with_retry_after(limited, server, alice, message):
    for emoji in EMOJI[:5]:
        await react(limited, server, alice, message, emoji)
    resp = await react(limited, server, alice, message, EMOJI[5], expect=429)
    assert await resp.json() == {"detail": "you are changing messages too fast"}
    assert resp.headers["Retry-After"] == "1"


async def test_reaction_counts_stay_exact_through_racing_adds_removals_clears_and_deletions(
        client, server, alice, make_user, add_member, test_queries, db):
    """History reads counts kept beside the reactions (migration 0012): after every kind of
    change racing on a few messages, and a channel deleted with its reactions, they agree."""
    people = [alice]
    for i in range(9):
        person = await make_user(f"racer{i}")
        await add_member(person)
        people.append(person)
    messages = [await post(client, server, alice, f"m{i}") for i in range(3)]
    for message in messages:
        for person in people:
            await react(client, server, person, message, EMOJI[0])
    requests = []
    for i, person in enumerate(people):
        for k, message in enumerate(messages):
            requests.append(client.put(mine(server, message, EMOJI[1 + (i + k) % 3]), headers=person.auth))
            if (i + k) % 2:
                requests.append(client.delete(mine(server, message, EMOJI[0]), headers=person.auth))
    requests.append(client.delete(reactions_url(server, messages[1]), headers=alice.auth))
    requests.append(client.delete(f"{server.url}/channels/{server.general}/messages/{messages[2]}",
                                  headers=alice.auth))
    assert {r.status for r in await asyncio.gather(*requests)} <= {204, 404}
    assert [row async for row in test_queries.reaction_count_drift(db)] == []
    [first, second] = [m for m in await history(client, server, alice) if m["id"] in messages[:2]]
    assert sum(r["count"] for r in first["reactions"]) == 10 + 10 - 5
    assert sum(r["count"] for r in second["reactions"]) <= 20
    assert (await client.delete(f"/chat/servers/{server.id}", headers=alice.auth)).status == 204
    assert [row async for row in test_queries.reaction_count_drift(db)] == []
